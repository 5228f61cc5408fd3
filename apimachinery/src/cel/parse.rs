//! Lexer and recursive-descent parser for the CEL subset.

use super::CelError;

/// An expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Ident(String),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    Select(Box<Expr>, String),
    /// `has(a.b)`.
    Has(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    /// A global call `f(args)` or a receiver call `target.f(args)`.
    Call {
        target: Option<Box<Expr>>,
        name: String,
        args: Vec<Expr>,
    },
    /// `list.all(x, p)`, `exists`, `exists_one`, `map`, `filter`.
    Comprehension {
        kind: String,
        target: Box<Expr>,
        var: String,
        body: Box<Expr>,
    },
    Unary(String, Box<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
}

const OPS: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", ".", ",",
    "(", ")", "[", "]", "{", "}",
];

fn lex(src: &str) -> Result<Vec<Tok>, CelError> {
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            let mut is_double = false;
            if c == '0' && chars.get(i + 1).is_some_and(|x| *x == 'x' || *x == 'X') {
                i += 2;
                while i < chars.len() && chars[i].is_ascii_hexdigit() {
                    i += 1;
                }
                let hex: String = chars[start + 2..i].iter().collect();
                let v =
                    i64::from_str_radix(&hex, 16).map_err(|e| CelError::Syntax(e.to_string()))?;
                out.push(Tok::Int(v));
                continue;
            }
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E')
            {
                if chars[i] == '.' {
                    // `1.size()` is not valid CEL, so a dot followed by a digit is a fraction.
                    if !chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                        break;
                    }
                    is_double = true;
                }
                if chars[i] == 'e' || chars[i] == 'E' {
                    is_double = true;
                    if chars.get(i + 1).is_some_and(|x| *x == '-' || *x == '+') {
                        i += 1;
                    }
                }
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if chars.get(i).is_some_and(|x| *x == 'u' || *x == 'U') {
                i += 1;
                out.push(Tok::UInt(
                    text.parse()
                        .map_err(|_| CelError::Syntax(format!("bad number {text}")))?,
                ));
            } else if is_double {
                out.push(Tok::Double(
                    text.parse()
                        .map_err(|_| CelError::Syntax(format!("bad number {text}")))?,
                ));
            } else {
                out.push(Tok::Int(
                    text.parse()
                        .map_err(|_| CelError::Syntax(format!("bad number {text}")))?,
                ));
            }
            continue;
        }
        let raw =
            (c == 'r' || c == 'R') && chars.get(i + 1).is_some_and(|x| *x == '\'' || *x == '"');
        if c == '\'' || c == '"' || raw {
            if raw {
                i += 1;
            }
            let q = chars[i];
            let triple = chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q);
            i += if triple { 3 } else { 1 };
            let mut s = String::new();
            loop {
                let Some(&ch) = chars.get(i) else {
                    return Err(CelError::Syntax("unterminated string".into()));
                };
                if triple {
                    if ch == q && chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) {
                        i += 3;
                        break;
                    }
                } else if ch == q {
                    i += 1;
                    break;
                }
                if ch == '\\' && !raw {
                    let esc = chars
                        .get(i + 1)
                        .copied()
                        .ok_or_else(|| CelError::Syntax("bad escape".into()))?;
                    s.push(match esc {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '\\' => '\\',
                        '\'' => '\'',
                        '"' => '"',
                        '`' => '`',
                        '?' => '?',
                        other => {
                            return Err(CelError::Syntax(format!("unsupported escape \\{other}")));
                        }
                    });
                    i += 2;
                    continue;
                }
                s.push(ch);
                i += 1;
            }
            out.push(Tok::Str(s));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
            return Err(CelError::Syntax(format!("unexpected character {c:?}")));
        };
        out.push(Tok::Op(op));
        i += op.len();
    }
    Ok(out)
}

/// Parse a CEL expression.
pub fn parse(src: &str) -> Result<Expr, CelError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.ternary()?;
    if p.pos != p.toks.len() {
        return Err(CelError::Syntax(format!(
            "unexpected token {:?}",
            p.toks[p.pos]
        )));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }
    fn peek_ident(&self, name: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(o)) if o == name)
    }
    fn eat_op(&mut self, op: &str) -> bool {
        if self.peek_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, op: &str) -> Result<(), CelError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(CelError::Syntax(format!(
                "expected '{op}' at token {}",
                self.pos
            )))
        }
    }
    fn ident(&mut self) -> Result<String, CelError> {
        match self.toks.get(self.pos) {
            Some(Tok::Ident(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            other => Err(CelError::Syntax(format!(
                "expected identifier, found {other:?}"
            ))),
        }
    }

    fn ternary(&mut self) -> Result<Expr, CelError> {
        let cond = self.or()?;
        if self.eat_op("?") {
            let a = self.or()?;
            self.expect_op(":")?;
            let b = self.ternary()?;
            return Ok(Expr::Ternary(Box::new(cond), Box::new(a), Box::new(b)));
        }
        Ok(cond)
    }
    fn or(&mut self) -> Result<Expr, CelError> {
        let mut l = self.and()?;
        while self.eat_op("||") {
            let r = self.and()?;
            l = Expr::Binary("||".into(), Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, CelError> {
        let mut l = self.relation()?;
        while self.eat_op("&&") {
            let r = self.relation()?;
            l = Expr::Binary("&&".into(), Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn relation(&mut self) -> Result<Expr, CelError> {
        let mut l = self.additive()?;
        loop {
            let op = ["==", "!=", "<=", ">=", "<", ">"]
                .into_iter()
                .find(|op| self.peek_op(op));
            let op = match op {
                Some(op) => {
                    self.pos += 1;
                    op.to_string()
                }
                None if self.peek_ident("in") => {
                    self.pos += 1;
                    "in".to_string()
                }
                None => return Ok(l),
            };
            let r = self.additive()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }
    fn additive(&mut self) -> Result<Expr, CelError> {
        let mut l = self.multiplicative()?;
        loop {
            let op = if self.eat_op("+") {
                "+"
            } else if self.eat_op("-") {
                "-"
            } else {
                return Ok(l);
            };
            let r = self.multiplicative()?;
            l = Expr::Binary(op.into(), Box::new(l), Box::new(r));
        }
    }
    fn multiplicative(&mut self) -> Result<Expr, CelError> {
        let mut l = self.unary()?;
        loop {
            let op = ["*", "/", "%"].into_iter().find(|op| self.peek_op(op));
            let Some(op) = op else { return Ok(l) };
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::Binary(op.into(), Box::new(l), Box::new(r));
        }
    }
    fn unary(&mut self) -> Result<Expr, CelError> {
        if self.eat_op("!") {
            return Ok(Expr::Unary("!".into(), Box::new(self.unary()?)));
        }
        if self.eat_op("-") {
            return Ok(Expr::Unary("-".into(), Box::new(self.unary()?)));
        }
        self.member()
    }
    fn args(&mut self) -> Result<Vec<Expr>, CelError> {
        let mut args = Vec::new();
        if self.eat_op(")") {
            return Ok(args);
        }
        loop {
            args.push(self.ternary()?);
            if self.eat_op(")") {
                return Ok(args);
            }
            self.expect_op(",")?;
        }
    }
    fn member(&mut self) -> Result<Expr, CelError> {
        let mut e = self.primary()?;
        loop {
            if self.eat_op(".") {
                let name = self.ident()?;
                if self.eat_op("(") {
                    if matches!(
                        name.as_str(),
                        "all" | "exists" | "exists_one" | "map" | "filter"
                    ) {
                        let var = self.ident()?;
                        self.expect_op(",")?;
                        let body = self.ternary()?;
                        self.expect_op(")")?;
                        e = Expr::Comprehension {
                            kind: name,
                            target: Box::new(e),
                            var,
                            body: Box::new(body),
                        };
                    } else {
                        let args = self.args()?;
                        e = Expr::Call {
                            target: Some(Box::new(e)),
                            name,
                            args,
                        };
                    }
                } else {
                    e = Expr::Select(Box::new(e), name);
                }
            } else if self.eat_op("[") {
                let idx = self.ternary()?;
                self.expect_op("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx));
            } else {
                return Ok(e);
            }
        }
    }
    fn primary(&mut self) -> Result<Expr, CelError> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or_else(|| CelError::Syntax("unexpected end of expression".into()))?;
        self.pos += 1;
        match tok {
            Tok::Int(v) => Ok(Expr::Int(v)),
            Tok::UInt(v) => Ok(Expr::UInt(v)),
            Tok::Double(v) => Ok(Expr::Double(v)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Ident(name) => match name.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "null" => Ok(Expr::Null),
                "has" if self.peek_op("(") => {
                    self.pos += 1;
                    let arg = self.ternary()?;
                    self.expect_op(")")?;
                    match arg {
                        Expr::Select(target, field) => Ok(Expr::Has(target, field)),
                        _ => Err(CelError::Syntax("invalid argument to has() macro".into())),
                    }
                }
                _ if self.peek_op("(") => {
                    self.pos += 1;
                    let args = self.args()?;
                    Ok(Expr::Call {
                        target: None,
                        name,
                        args,
                    })
                }
                _ => Ok(Expr::Ident(name)),
            },
            Tok::Op("(") => {
                let e = self.ternary()?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                if !self.eat_op("]") {
                    loop {
                        items.push(self.ternary()?);
                        if self.eat_op("]") {
                            break;
                        }
                        self.expect_op(",")?;
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Op("{") => {
                let mut entries = Vec::new();
                if !self.eat_op("}") {
                    loop {
                        let k = self.ternary()?;
                        self.expect_op(":")?;
                        let v = self.ternary()?;
                        entries.push((k, v));
                        if self.eat_op("}") {
                            break;
                        }
                        self.expect_op(",")?;
                    }
                }
                Ok(Expr::Map(entries))
            }
            other => Err(CelError::Syntax(format!("unexpected token {other:?}"))),
        }
    }
}
