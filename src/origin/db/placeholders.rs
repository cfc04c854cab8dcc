//! SQL is written once, with SQLite's numbered placeholders `?1`, `?2`…; PostgreSQL
//! numbers them `$1`, `$2`…. [`numbered_dollar`] is the one place that translates.

/// `sql` with every `?N` placeholder written `$N`, leaving text inside quotes
/// (`'…'`, `"…"`) and `--` comments alone. A bare `?` (unnumbered) is refused: its
/// number would depend on its position, and the origin's SQL numbers every placeholder.
pub fn numbered_dollar(sql: &str) -> Result<String, String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                // To the closing quote (a doubled quote closes and reopens: same result).
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'?' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits == 0 {
                    return Err(format!(
                        "unnumbered placeholder `?` at byte {i}: write `?1`, `?2`…"
                    ));
                }
                out.push_str(&sql[copied..i]);
                out.push('$');
                copied = i + 1;
                i += 1 + digits;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::numbered_dollar;

    #[test]
    fn placeholders_become_dollars_outside_quotes_and_comments() {
        assert_eq!(
            numbered_dollar("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?10)").unwrap(),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $10)"
        );
        assert_eq!(
            numbered_dollar("SELECT '?1', \"x?2\" -- ?3\n, ?4").unwrap(),
            "SELECT '?1', \"x?2\" -- ?3\n, $4"
        );
        assert_eq!(
            numbered_dollar("SELECT 'it''s', ?1").unwrap(),
            "SELECT 'it''s', $1"
        );
        assert!(numbered_dollar("SELECT ?").is_err());
        assert_eq!(
            numbered_dollar("SELECT 'é' || ?1").unwrap(),
            "SELECT 'é' || $1"
        );
    }
}
