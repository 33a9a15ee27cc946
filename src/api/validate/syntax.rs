//! Syntax of the strings Stash hands to other parsers: cron schedules (Kubernetes CronJob,
//! i.e. robfig/cron's standard parser) and Go durations (`metav1.Duration`). Checking them here
//! turns a CronJob creation failure at reconcile time into an error at `stash validate` time.

/// Checks a CronJob schedule the way Kubernetes does: five fields (minute hour day-of-month
/// month day-of-week) or a descriptor (`@daily`, `@every 1h`, …); `TZ=` prefixes are refused.
pub fn check_cron(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    if expr.is_empty() {
        return Err("empty spec string".into());
    }
    if expr.starts_with("TZ=") || expr.starts_with("CRON_TZ=") {
        return Err("cannot use TZ or CRON_TZ in schedule, use the timeZone field instead".into());
    }
    if let Some(desc) = expr.strip_prefix('@') {
        return match desc {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ => match desc.strip_prefix("every ") {
                Some(d) => parse_go_duration(d.trim())
                    .map(|_| ())
                    .map_err(|e| format!("failed to parse duration {expr}: {e}")),
                None => Err(format!("unrecognized descriptor: {expr}")),
            },
        };
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: {:?}",
            fields.len(),
            fields
        ));
    }
    const MONTHS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    check_field(fields[0], 0, 59, &[], 0)?;
    check_field(fields[1], 0, 23, &[], 0)?;
    check_field(fields[2], 1, 31, &[], 0)?;
    check_field(fields[3], 1, 12, MONTHS, 1)?;
    check_field(fields[4], 0, 6, DAYS, 0)?;
    Ok(())
}

fn check_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(), String> {
    for range in field.split(',') {
        check_range(range, min, max, names, name_base)?;
    }
    Ok(())
}

fn check_range(
    expr: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(), String> {
    let (range, step) = match expr.split('/').collect::<Vec<_>>()[..] {
        [r] => (r, None),
        [r, s] => (r, Some(s)),
        _ => return Err(format!("too many slashes: {expr}")),
    };
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + name_base);
        }
        s.parse::<u32>()
            .map_err(|_| format!("failed to parse int from {s}"))
    };
    let (start, end, single) = if range == "*" || range == "?" {
        (min, max, false)
    } else {
        match range.split('-').collect::<Vec<_>>()[..] {
            [a] => {
                let v = value(a)?;
                (v, v, true)
            }
            [a, b] => (value(a)?, value(b)?, false),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let end = match step {
        Some(s) => {
            let n: u32 = s
                .parse()
                .map_err(|_| format!("failed to parse int from {s}"))?;
            if n == 0 {
                return Err(format!("step of range should be a positive number: {expr}"));
            }
            if single {
                max
            } else {
                end
            }
        }
        None => end,
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    Ok(())
}

/// Parses a Go duration (`1h30m`, `10m`, `1.5s`, `300ms`, `0`) into seconds.
pub fn parse_go_duration(s: &str) -> Result<f64, String> {
    let orig = s;
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(format!("time: invalid duration {orig:?}"));
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return Err(format!("time: invalid duration {orig:?}"));
        }
        let n: f64 = num
            .parse()
            .map_err(|_| format!("time: invalid duration {orig:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {orig:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {orig:?}")),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Ok(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_accepts_what_kubernetes_accepts() {
        for ok in [
            "* * * * *",
            "*/5 * * * *",
            "0 0 * * 0",
            "30 2 1-15/2 JAN-jun mon,wed,FRI",
            "5/15 * * * *",
            "@daily",
            "@every 1h30m",
            "0 */3 ? * *",
        ] {
            assert_eq!(check_cron(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn cron_errors_name_the_problem() {
        let cases = [
            (
                "* * * *",
                r#"expected exactly 5 fields, found 4: ["*", "*", "*", "*"]"#,
            ),
            ("60 * * * *", "end of range (60) above maximum (59): 60"),
            ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
            (
                "* 5-2 * * *",
                "beginning of range (5) beyond end of range (2): 5-2",
            ),
            (
                "*/0 * * * *",
                "step of range should be a positive number: */0",
            ),
            ("x * * * *", "failed to parse int from x"),
            ("* * * * 7", "end of range (7) above maximum (6): 7"),
            ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
            ("@fortnightly", "unrecognized descriptor: @fortnightly"),
            (
                "@every 5",
                r#"failed to parse duration @every 5: time: missing unit in duration "5""#,
            ),
            (
                "TZ=UTC * * * * *",
                "cannot use TZ or CRON_TZ in schedule, use the timeZone field instead",
            ),
            ("", "empty spec string"),
        ];
        for (expr, msg) in cases {
            assert_eq!(check_cron(expr), Err(msg.to_string()), "{expr}");
        }
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Ok(5400.0));
        assert_eq!(parse_go_duration("10m"), Ok(600.0));
        assert_eq!(parse_go_duration("1.5s"), Ok(1.5));
        assert_eq!(parse_go_duration("300ms"), Ok(0.3));
        assert_eq!(parse_go_duration("0"), Ok(0.0));
        assert_eq!(parse_go_duration("2h"), Ok(7200.0));
        assert_eq!(
            parse_go_duration("1d"),
            Err(r#"time: unknown unit "d" in duration "1d""#.into())
        );
        assert_eq!(
            parse_go_duration("10"),
            Err(r#"time: missing unit in duration "10""#.into())
        );
        assert_eq!(
            parse_go_duration(""),
            Err(r#"time: invalid duration """#.into())
        );
    }
}
