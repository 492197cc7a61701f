//! Shell quoting for the commands the runbooks print: a value written into a command is one
//! word to `sh` and `bash`, whatever it holds — no expansion, substitution, redirection or
//! second command can come out of it.

/// `s` as one POSIX shell word: as it is when made only of characters no shell treats
/// specially, otherwise in single quotes, each `'` written `'\''`.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b"_-./:@%+,".contains(&b) || (b == b'=' && !s.starts_with('='))
        });
    if plain {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn words_are_quoted_only_when_a_shell_would_read_them_otherwise() {
        assert_eq!(quote("harbor/core"), "harbor/core");
        assert_eq!(quote("-mount=secret"), "-mount=secret");
        assert_eq!(quote("key=<key>"), "'key=<key>'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$(id)"), "'$(id)'");
        assert_eq!(quote("a'b; rm -rf /"), "'a'\\''b; rm -rf /'");
        assert_eq!(quote("~root"), "'~root'");
    }
}
