//! Reading a value's text in the forms operators compare: a finite number, the text
//! a number hashes as when it is a unit, an IP address.

/// Whether `text` is a plain decimal numeral and, if so, its finite value: "inf",
/// "NaN", hex and whitespace are text, not numbers.
pub fn finite_number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The text a number hashes as when it is a rollout unit: ECMAScript's
/// `Number.prototype.toString` (what `JSON.stringify` writes: `12345`, `-3`, `1.5`,
/// `1e+21`, `1e-7`), so a unit sent as a number and the same unit sent as its JSON
/// text agree, whichever SDK sent it.
#[cfg(feature = "authoring")]
pub fn number_text(n: f64) -> Option<String> {
    if !n.is_finite() {
        return None;
    }
    if n == 0.0 {
        return Some("0".into());
    }
    // The shortest digits that read back as `n` (Rust's `{:e}` rounds exactly).
    let (digits, exponent) = (1..=17)
        .map(|precision| format!("{:.*e}", precision - 1, n.abs()))
        .find(|text| text.parse::<f64>().ok() == Some(n.abs()))
        .and_then(|text| {
            let (mantissa, exponent) = crate::engine::split::split_once(&text, b'e')?;
            Some((mantissa.replace('.', ""), exponent.parse::<i32>().ok()?))
        })?;
    let k = digits.len() as i32;
    let point = exponent + 1; // ECMAScript's n: where the decimal point goes
    let mut out = String::new();
    if n < 0.0 {
        out.push('-');
    }
    if k <= point && point <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (point - k) as usize));
    } else if 0 < point && point <= 21 {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    } else if -6 < point && point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if point - 1 < 0 { '-' } else { '+' });
        crate::jsontext::push_u64(&mut out, u64::from((point - 1).unsigned_abs()));
    }
    Some(out)
}

/// In wasm the host hands over the text of every number it sends as a unit (float
/// formatting would cost the module kilobytes); only small integers are printed
/// here, which read the same either way.
#[cfg(not(feature = "authoring"))]
pub fn number_text(n: f64) -> Option<String> {
    if n.fract() != 0.0 || n.abs() >= 9_007_199_254_740_992.0 {
        return None;
    }
    let mut out = String::new();
    crate::jsontext::push_i64(&mut out, n as i64);
    Some(out)
}
