//! How a plain (unquoted) scalar of the spec is typed, and when it is refused.
//!
//! A spec means what it means to every tool that reads it, YAML 1.2 readers (gitopsc,
//! serde) and YAML 1.1 readers (PyYAML, Go's yaml.v2 inside Kubernetes tools) alike. So a
//! plain scalar is read both ways — by the YAML 1.2 core schema and by the YAML 1.1 type
//! regexps (<https://yaml.org/type/>: bool, int, float, null, timestamp, merge, value; the
//! float one as PyYAML applies it, without the spec's wart that makes `1.2.3` a float) —
//! and taken only when both readings agree. A plain key must be a string in both.

use serde_json::{Number, Value};

/// What one reader makes of a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reading {
    Str,
    Null,
    Bool(bool),
    /// An integer; `None` when it does not fit 128 bits.
    Int(Option<i128>),
    Float(f64),
    Timestamp,
    Merge,
    Value,
}

impl Reading {
    fn describe(self) -> String {
        match self {
            Reading::Str => "a string".into(),
            Reading::Null => "null".into(),
            Reading::Bool(_) => "a boolean".into(),
            Reading::Int(Some(i)) => format!("the number {i}"),
            Reading::Int(None) | Reading::Float(_) => "a number".into(),
            Reading::Timestamp => "a date".into(),
            Reading::Merge => "a merge key (`<<`)".into(),
            Reading::Value => "a value key (`=`)".into(),
        }
    }
}

/// Why a plain scalar is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The error.
    pub message: String,
    /// The label at the scalar.
    pub label: &'static str,
    /// How to fix it.
    pub help: String,
}

/// The JSON value of a plain scalar, or why it is refused.
pub fn value(s: &str) -> Result<Value, Refusal> {
    let (old, new) = (yaml11(s), yaml12(s));
    let digits = split_sign(s).1;
    if s.starts_with(['-', '+']) && ["0o", "0x", "0b"].iter().any(|p| digits.starts_with(p)) {
        // `-0o17`: a string to YAML 1.2's core schema, a number to serde_yaml (and for `0x`
        // and `0b`, to YAML 1.1).
        return Err(Refusal {
            message: format!(
                "`{s}` is ambiguous: some YAML readers read a signed `0o`, `0x` or `0b` number as a number, others as a string"
            ),
            label: "ambiguous number",
            help: format!("quote it (`\"{s}\"`) for a string, or write a plain decimal number"),
        });
    }
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        // `00`, `007`: octal to YAML 1.1, decimal to the YAML 1.2 core schema, a string to
        // serde_yaml; the readers agree on no reading.
        return Err(Refusal {
            message: format!(
                "`{s}` is ambiguous: YAML readers read a number with leading zeros as octal, decimal or a string"
            ),
            label: "ambiguous number",
            help: format!("quote it (`\"{s}\"`) for a string, or drop the leading zeros for a number"),
        });
    }
    let agreed = match (old, new) {
        (Reading::Str, Reading::Str) => return Ok(Value::String(s.to_string())),
        (Reading::Null, Reading::Null) => return Ok(Value::Null),
        (Reading::Bool(a), Reading::Bool(b)) if a == b => return Ok(Value::Bool(a)),
        (Reading::Int(a), Reading::Int(b)) if a == b => {
            a.and_then(|i| i64::try_from(i).ok()).map(Number::from)
        }
        (Reading::Float(a), Reading::Float(b)) if a == b || (a.is_nan() && b.is_nan()) => Number::from_f64(a),
        _ => return Err(ambiguous(s, old, new)),
    };
    agreed.map(Value::Number).ok_or_else(|| Refusal {
        message: format!("`{s}` cannot be represented as a number"),
        label: "out of range",
        help: format!("quote it (`\"{s}\"`) if it is a string"),
    })
}

/// Why a plain mapping key is refused, if it is: it must be a string to every reader.
pub fn key(s: &str) -> Option<Refusal> {
    let (old, new) = (yaml11(s), yaml12(s));
    if (old, new) == (Reading::Str, Reading::Str) {
        return None;
    }
    let read = if old == new || matches!((old, new), (Reading::Float(a), Reading::Float(b)) if a == b) {
        format!("YAML tools read it as {}, not as a string", old.describe())
    } else {
        format!(
            "YAML 1.1 tools read it as {}, YAML 1.2 tools as {}",
            old.describe(),
            new.describe()
        )
    };
    Some(Refusal {
        message: format!("the key `{s}` is ambiguous: {read}"),
        label: "ambiguous key",
        help: format!("quote it: `\"{s}\":`"),
    })
}

fn ambiguous(s: &str, old: Reading, new: Reading) -> Refusal {
    let help = match old {
        Reading::Bool(_) => format!("write `true` or `false` for a boolean, or `\"{s}\"` for the string"),
        Reading::Int(_) | Reading::Float(_) if matches!(new, Reading::Int(_) | Reading::Float(_)) => {
            format!("quote it (`\"{s}\"`) for a string, or write a plain decimal number")
        }
        _ => format!("quote it: `\"{s}\"`"),
    };
    Refusal {
        message: format!(
            "`{s}` is ambiguous: YAML 1.1 tools read it as {}, YAML 1.2 tools as {}",
            old.describe(),
            new.describe()
        ),
        label: "ambiguous scalar",
        help,
    }
}

/// The YAML 1.2 core schema's reading.
fn yaml12(s: &str) -> Reading {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Reading::Null,
        "true" | "True" | "TRUE" => return Reading::Bool(true),
        "false" | "False" | "FALSE" => return Reading::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Reading::Float(f64::NAN),
        _ => {}
    }
    let (sign, body) = split_sign(s);
    if all(body, |b| b.is_ascii_digit()) {
        return Reading::Int(radix(body, 10).map(|i| sign * i));
    }
    if let Some(oct) = s
        .strip_prefix("0o")
        .filter(|d| all(d, |b| (b'0'..=b'7').contains(&b)))
    {
        return Reading::Int(radix(oct, 8));
    }
    if let Some(hex) = s.strip_prefix("0x").filter(|d| all(d, |b| b.is_ascii_hexdigit())) {
        return Reading::Int(radix(hex, 16));
    }
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Reading::Float(sign as f64 * f64::INFINITY);
    }
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => all(frac, |b| b.is_ascii_digit()),
        Some((int, frac)) => all(int, |b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit()),
        None => all(mantissa, |b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| all(split_sign(e).1, |b| b.is_ascii_digit()));
    if mantissa_ok
        && exponent_ok
        && let Ok(f) = s.parse::<f64>()
    {
        return Reading::Float(f);
    }
    Reading::Str
}

/// The YAML 1.1 types' reading.
fn yaml11(s: &str) -> Reading {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Reading::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Reading::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Reading::Bool(false);
        }
        "<<" => return Reading::Merge,
        "=" => return Reading::Value,
        ".nan" | ".NaN" | ".NAN" => return Reading::Float(f64::NAN),
        _ => {}
    }
    if is_timestamp11(s) {
        return Reading::Timestamp;
    }
    let (sign, body) = split_sign(s);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Reading::Float(sign as f64 * f64::INFINITY);
    }
    let digits = |d: &str, ok: fn(u8) -> bool| !d.is_empty() && d.bytes().all(|b| ok(b) || b == b'_');
    let int = if let Some(bin) = body
        .strip_prefix("0b")
        .filter(|d| digits(d, |b| matches!(b, b'0' | b'1')))
    {
        Some(radix(&bin.replace('_', ""), 2))
    } else if let Some(hex) = body
        .strip_prefix("0x")
        .filter(|d| digits(d, |b| b.is_ascii_hexdigit()))
    {
        Some(radix(&hex.replace('_', ""), 16))
    } else if let Some(oct) = body
        .strip_prefix('0')
        .filter(|d| digits(d, |b| (b'0'..=b'7').contains(&b)))
    {
        Some(radix(&oct.replace('_', ""), 8))
    } else if body == "0"
        || (body.starts_with(|c: char| ('1'..='9').contains(&c)) && digits(body, |b| b.is_ascii_digit()))
    {
        Some(radix(&body.replace('_', ""), 10))
    } else if body.starts_with(|c: char| ('1'..='9').contains(&c)) && is_base60(body, false) {
        Some(base60(body))
    } else {
        None
    };
    if let Some(int) = int {
        return Reading::Int(int.map(|i| sign * i));
    }
    if is_float11(s) {
        let plain = s.replace('_', "");
        let value = if is_base60(body, true) {
            base60_float(&plain)
        } else {
            plain.parse::<f64>().ok()
        };
        // A float that Rust does not parse (never, by the pattern) still is not a string.
        return Reading::Float(value.unwrap_or(f64::NAN));
    }
    Reading::Str
}

/// PyYAML's float patterns of YAML 1.1 (`.inf`, `.nan` apart).
fn is_float11(s: &str) -> bool {
    let (signed, body) = match s.strip_prefix(['-', '+']) {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let exponent_ok = |e: Option<&str>| {
        e.is_none_or(|e| {
            e.strip_prefix(['-', '+'])
                .is_some_and(|d| all(d, |b| b.is_ascii_digit()))
        })
    };
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let digits_ = |d: &str| d.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if let Some((int, frac)) = mantissa.split_once('.') {
        // [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?
        if int.starts_with(|c: char| c.is_ascii_digit())
            && digits_(int)
            && digits_(frac)
            && exponent_ok(exponent)
        {
            return true;
        }
        // \.[0-9_]+([eE][-+][0-9]+)?  (no sign)
        if !signed && int.is_empty() && !frac.is_empty() && digits_(frac) && exponent_ok(exponent) {
            return true;
        }
    }
    // [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
    body.starts_with(|c: char| c.is_ascii_digit()) && is_base60(body, true)
}

/// `[0-9][0-9_]*(:[0-5]?[0-9])+` and, for a float, `\.[0-9_]*` after it.
fn is_base60(body: &str, float: bool) -> bool {
    let (whole, frac) = match (float, body.split_once('.')) {
        (true, Some((w, f))) => (w, Some(f)),
        (true, None) => return false,
        (false, _) => (body, None),
    };
    let mut groups = whole.split(':');
    let first = groups.next().unwrap_or_default();
    let rest: Vec<&str> = groups.collect();
    !first.is_empty()
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && !rest.is_empty()
        && rest.iter().all(|g| match g.as_bytes() {
            [d] => d.is_ascii_digit(),
            [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
            _ => false,
        })
        && frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

fn base60(body: &str) -> Option<i128> {
    body.replace('_', "").split(':').try_fold(0i128, |acc, g| {
        acc.checked_mul(60)?.checked_add(g.parse::<i128>().ok()?)
    })
}

fn base60_float(plain: &str) -> Option<f64> {
    let (sign, body) = split_sign(plain);
    let (whole, frac) = body.split_once('.')?;
    let mut value = 0f64;
    for group in whole.split(':') {
        value = value * 60.0 + group.parse::<f64>().ok()?;
    }
    let frac = format!("0.{frac}").parse::<f64>().ok()?;
    Some(sign as f64 * (value + frac))
}

/// YAML 1.1's timestamp: `YYYY-MM-DD`, or a date and time with optional fraction and zone.
fn is_timestamp11(s: &str) -> bool {
    let b = s.as_bytes();
    let d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    if !(d(0) && d(1) && d(2) && d(3) && b.get(4) == Some(&b'-')) {
        return false;
    }
    if b.len() == 10 && d(5) && d(6) && b[7] == b'-' && d(8) && d(9) {
        return true;
    }
    // [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?
    // (([ \t]*)Z|[-+][0-9]{1,2}(:[0-9]{2})?)?
    let mut i = 5;
    let one_or_two = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && *i - start < 2 && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    let exact = |i: &mut usize, n: usize| {
        let ok = b.len() >= *i + n && b[*i..*i + n].iter().all(u8::is_ascii_digit);
        *i += n;
        ok
    };
    let byte = |i: &mut usize, c: u8| {
        let ok = b.get(*i) == Some(&c);
        *i += 1;
        ok
    };
    if !(one_or_two(&mut i) && byte(&mut i, b'-') && one_or_two(&mut i)) {
        return false;
    }
    match b.get(i) {
        Some(b'T' | b't') => i += 1,
        Some(b' ' | b'\t') => {
            while matches!(b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if !(one_or_two(&mut i)
        && byte(&mut i, b':')
        && exact(&mut i, 2)
        && byte(&mut i, b':')
        && exact(&mut i, 2))
    {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match b.get(i) {
        None => true,
        Some(b'Z') => i + 1 == b.len(),
        Some(b'-' | b'+') => {
            i += 1;
            one_or_two(&mut i) && (i == b.len() || (byte(&mut i, b':') && exact(&mut i, 2) && i == b.len()))
        }
        _ => false,
    }
}

/// The sign (as a factor) and the rest.
fn split_sign(s: &str) -> (i128, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    }
}

/// True when `s` is not empty and every byte passes.
fn all(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

/// The integer of `digits` in `base`; `None` when it does not fit 128 bits (or is empty).
fn radix(digits: &str, base: u32) -> Option<i128> {
    i128::from_str_radix(digits, base).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_both_yaml_versions_read_alike_are_taken() {
        for (s, want) in [
            ("1", json!(1)),
            ("-12", json!(-12)),
            ("+3", json!(3)),
            ("0", json!(0)),
            ("0x1F", json!(31)),
            ("1.5", json!(1.5)),
            ("-1.5", json!(-1.5)),
            ("1.", json!(1.0)),
            (".5", json!(0.5)),
            ("1.5e+3", json!(1500.0)),
            ("true", json!(true)),
            ("False", json!(false)),
            ("~", json!(null)),
            ("", json!(null)),
            ("1.16.0", json!("1.16.0")),
            ("v1.2", json!("v1.2")),
            ("2001-1-1", json!("2001-1-1")),
            ("a:b", json!("a:b")),
            ("0x", json!("0x")),
            ("<<<", json!("<<<")),
            ("==", json!("==")),
        ] {
            assert_eq!(value(s), Ok(want), "{s:?}");
        }
    }

    #[test]
    fn scalars_the_yaml_versions_read_differently_are_refused() {
        for s in [
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "N",
            "0777",
            "08",
            "0o17",
            "0b101",
            "-0x1F",
            "+0x1F",
            "0x1_F",
            "1_000",
            "1:20",
            "1:20.5",
            "1e3",
            "1.5e3",
            "1E+3",
            "-.5",
            "1_0.5",
            "2001-01-01",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-15T02:59:43.1Z",
            "<<",
            "=",
        ] {
            let refusal = value(s).unwrap_err();
            assert!(refusal.message.contains("is ambiguous"), "{s:?}: {refusal:?}");
            assert!(refusal.help.contains(&format!("`\"{s}\"")), "{s:?}: {refusal:?}");
        }
        assert!(
            value("0777")
                .unwrap_err()
                .message
                .contains("octal, decimal or a string")
        );
        assert!(value("-0o17").unwrap_err().message.contains("signed `0o`"));
        assert!(
            value("0b101")
                .unwrap_err()
                .message
                .contains("the number 5, YAML 1.2 tools as a string")
        );
    }

    #[test]
    fn numbers_no_reader_can_hold_are_refused_alike() {
        for s in [
            "99999999999999999999",
            "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            "1.0e+400",
            ".inf",
            "-.Inf",
            ".nan",
        ] {
            assert_eq!(value(s).unwrap_err().label, "out of range", "{s:?}");
        }
    }

    #[test]
    fn keys_must_be_strings_to_every_reader() {
        for s in [
            "0777",
            "true",
            "null",
            "~",
            "yes",
            "1",
            "1.5",
            "<<",
            "2001-01-01",
            "",
        ] {
            assert!(key(s).is_some(), "{s:?}");
        }
        for s in ["name", "1.16.0", "a b", "apiVersion"] {
            assert_eq!(key(s), None, "{s:?}");
        }
    }
}
