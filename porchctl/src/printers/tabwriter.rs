//! A port of the layout of Go's `text/tabwriter` as kubectl configures it
//! (`minwidth 6, padding 3, padchar ' '`, left-aligned), so tables line up byte for byte.

/// kubectl's minimum cell width (padding included).
pub const MIN_WIDTH: usize = 6;
/// kubectl's padding between columns.
pub const PADDING: usize = 3;

/// Collects tab-separated, newline-terminated text and lays it out on [`TabWriter::finish`].
#[derive(Debug, Default)]
pub struct TabWriter {
    text: String,
}

impl TabWriter {
    /// An empty writer.
    pub fn new() -> Self {
        TabWriter::default()
    }

    /// Appends raw text (cells separated by `\t`, lines by `\n`).
    pub fn write(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Appends one line made of `cells`.
    pub fn line<S: AsRef<str>>(&mut self, cells: &[S]) {
        let parts: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
        self.text.push_str(&parts.join("\t"));
        self.text.push('\n');
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Lays out everything written so far.
    pub fn finish(self) -> String {
        layout(&self.text, MIN_WIDTH, PADDING)
    }
}

/// Lays out `text` like Go's tabwriter with the given minimum width and padding.
pub fn layout(text: &str, min_width: usize, padding: usize) -> String {
    // Each line: tab-terminated cells followed by one trailing cell.
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format(
        &lines,
        &mut widths,
        0,
        lines.len(),
        min_width,
        padding,
        &mut out,
    );
    out
}

fn format(
    lines: &[Vec<&str>],
    widths: &mut Vec<usize>,
    mut line0: usize,
    line1: usize,
    min_width: usize,
    padding: usize,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        // A cell in this column starts a block: flush the lines above it.
        write_lines(lines, widths, line0, this, out);
        line0 = this;
        let mut width = min_width;
        while this < line1 {
            let line = &lines[this];
            if column + 1 >= line.len() {
                break;
            }
            let w = display_width(line[column]) + padding;
            width = width.max(w);
            this += 1;
        }
        widths.push(width);
        format(lines, widths, line0, this, min_width, padding, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, widths, line0, line1, out);
}

fn write_lines(
    lines: &[Vec<&str>],
    widths: &[usize],
    line0: usize,
    line1: usize,
    out: &mut String,
) {
    for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j < widths.len() {
                let w = display_width(cell);
                if widths[j] > w {
                    out.push_str(&" ".repeat(widths[j] - w));
                }
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

fn display_width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_kubectl() {
        let mut w = TabWriter::new();
        w.line(&["NAME", "REV"]);
        w.line(&["test-blueprints", "-1"]);
        assert_eq!(w.finish(), "NAME              REV\ntest-blueprints   -1\n");
    }

    #[test]
    fn short_columns_get_min_width() {
        let mut w = TabWriter::new();
        w.line(&["A", "B", "C"]);
        assert_eq!(w.finish(), "A     B     C\n");
    }

    #[test]
    fn blocks_break_on_lines_without_cells() {
        let out = layout("a\tb\nno tabs here\nlonger-cell\tc\n", 6, 3);
        assert_eq!(out, "a     b\nno tabs here\nlonger-cell   c\n");
    }

    #[test]
    fn empty_input() {
        assert_eq!(TabWriter::new().finish(), "");
    }
}
