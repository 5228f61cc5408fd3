//! Validation of `--sync-schedule` (standard 5-field cron, as robfig/cron's standard parser).

/// Checks a cron expression; the error text follows robfig/cron.
pub fn validate(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    if let Some(desc) = expr.strip_prefix('@') {
        return match desc {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            d if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {expr}")),
        };
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    const BOUNDS: [(u32, u32, &[&str]); 5] = [
        (0, 59, &[]),
        (0, 23, &[]),
        (1, 31, &[]),
        (
            1,
            12,
            &[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ],
        ),
        (0, 6, &["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
    ];
    for (field, (min, max, names)) in fields.iter().zip(BOUNDS) {
        for part in field.split(',') {
            check_range(part, min, max, names)?;
        }
    }
    Ok(())
}

fn check_range(part: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(s) = step {
        let n = parse_num(s, min, names)?;
        if n == 0 {
            return Err(format!("step of range should be a positive number: {part}"));
        }
    }
    if range == "*" || range == "?" {
        return Ok(());
    }
    let (lo, hi) = match range.split_once('-') {
        Some((a, b)) => (parse_num(a, min, names)?, parse_num(b, min, names)?),
        None => {
            let n = parse_num(range, min, names)?;
            (n, n)
        }
    };
    if lo < min {
        return Err(format!(
            "beginning of range ({lo}) below minimum ({min}): {part}"
        ));
    }
    if hi > max {
        return Err(format!("end of range ({hi}) above maximum ({max}): {part}"));
    }
    if lo > hi {
        return Err(format!(
            "beginning of range ({lo}) beyond end of range ({hi}): {part}"
        ));
    }
    Ok(())
}

fn parse_num(s: &str, min: u32, names: &[&str]) -> Result<u32, String> {
    if let Some(pos) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(pos as u32 + min);
    }
    s.parse::<u32>().map_err(|_| {
        format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: invalid syntax")
    })
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_standard_cron() {
        for e in [
            "*/10 * * * *",
            "0 1 * * mon-fri",
            "5,10 0-23/2 1 jan *",
            "@hourly",
            "@every 5m",
        ] {
            assert!(validate(e).is_ok(), "{e}");
        }
    }

    #[test]
    fn rejects_bad_cron() {
        assert_eq!(
            validate("* *").unwrap_err(),
            "expected exactly 5 fields, found 2: [* *]"
        );
        assert!(
            validate("61 * * * *")
                .unwrap_err()
                .contains("above maximum")
        );
        assert!(
            validate("x * * * *")
                .unwrap_err()
                .contains("failed to parse int from x")
        );
        assert!(validate("@sometimes").is_err());
    }
}
