//! User directory operations shared by the CLI (offline) and the admin socket (online).
use anyhow::{Context, Result, bail};
use herald_auth::Algorithm;
use herald_store::NewUser;
use std::io::Read;
use std::path::Path;

/// Splits `alice@example.com` or `sip:alice@example.com` into (user, domain).
pub fn split_address(address: &str) -> Result<(String, String)> {
    let a = address.trim();
    let a = a
        .strip_prefix("sip:")
        .or_else(|| a.strip_prefix("sips:"))
        .unwrap_or(a);
    let Some((user, domain)) = a.rsplit_once('@') else {
        bail!("{address:?} is not an address: write user@domain");
    };
    if user.is_empty() || domain.is_empty() {
        bail!("{address:?} is not an address: write user@domain");
    }
    Ok((user.to_owned(), domain.to_ascii_lowercase()))
}

/// A new user with digest HA1 values for realm = domain. The password is not kept.
pub fn new_user(address: &str, password: &str, display_name: Option<String>) -> Result<NewUser> {
    let (username, domain) = split_address(address)?;
    if password.is_empty() {
        bail!("the password must not be empty");
    }
    Ok(NewUser {
        ha1_md5: herald_auth::ha1(Algorithm::Md5, &username, &domain, password),
        ha1_sha256: herald_auth::ha1(Algorithm::Sha256, &username, &domain, password),
        username,
        domain,
        display_name: display_name.filter(|d| !d.trim().is_empty()),
    })
}

/// Reads `sip-uri,password[,display name]` lines (no header; `#` comments and blank
/// lines skipped). Errors name the line.
pub fn read_csv(path: &Path) -> Result<Vec<NewUser>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    parse_csv(file, &path.display().to_string())
}

/// [`read_csv`] on any reader; `source` names it in errors (a path, `stdin`).
pub fn parse_csv(input: impl Read, source: &str) -> Result<Vec<NewUser>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut users = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.with_context(|| format!("{source}: line {}", i + 1))?;
        if rec.iter().all(str::is_empty) {
            continue;
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(i as u64 + 1);
        let (Some(addr), Some(pw)) = (rec.get(0), rec.get(1)) else {
            bail!("{source}: line {line}: expected sip-uri,password[,display name]");
        };
        let display = rec.get(2).map(str::to_owned);
        users.push(new_user(addr, pw, display).with_context(|| format!("{source}: line {line}"))?);
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            split_address("sip:alice@Example.COM").unwrap(),
            ("alice".into(), "example.com".into())
        );
        assert!(split_address("alice").is_err());
        assert!(split_address("@x").is_err());
    }

    #[test]
    fn csv_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.csv");
        std::fs::write(&p, "# users\nsip:a@x.org,pw1,Alice A\n\nb@x.org, pw2\n").unwrap();
        let users = read_csv(&p).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].display_name.as_deref(), Some("Alice A"));
        assert_eq!(users[1].username, "b");
        assert_eq!(
            users[1].ha1_md5,
            herald_auth::ha1(Algorithm::Md5, "b", "x.org", "pw2")
        );
        std::fs::write(&p, "c@x.org\n").unwrap();
        let err = read_csv(&p).unwrap_err();
        assert!(format!("{err:#}").contains("line 1"), "{err:#}");
    }

    #[test]
    fn csv_from_a_reader_names_its_source() {
        let text = b"sips:carol@Example.COM,\"pass, with comma\",\"Carol \"\"C\"\"\"\r\n";
        let users = parse_csv(&text[..], "stdin").unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0].domain, "example.com");
        assert_eq!(users[0].display_name.as_deref(), Some("Carol \"C\""));
        assert_eq!(
            users[0].ha1_md5,
            herald_auth::ha1(Algorithm::Md5, "carol", "example.com", "pass, with comma")
        );
        let err = parse_csv(&b"a@x.org,pw\n\xff@x.org,pw\n"[..], "stdin").unwrap_err();
        assert!(format!("{err:#}").contains("stdin: line 2"), "{err:#}");
    }
}
