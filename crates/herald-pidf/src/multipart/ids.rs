//! Boundaries and Content-IDs for the bodies this crate builds.

use rand::Rng;
use rand::distributions::Alphanumeric;

use crate::error::PidfError;

/// A multipart boundary (RFC 2046 §5.1.1): 1 to 70 characters from `bchars`, not
/// ending in a space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Boundary(String);

impl Boundary {
    /// Length of [`Boundary::random`] boundaries: 144 random bits, so a collision with
    /// a body's content is not a practical concern (and is still checked).
    pub const RANDOM_LEN: usize = 24;

    /// A caller-chosen boundary, if it is valid.
    pub fn new(text: impl Into<String>) -> Result<Boundary, PidfError> {
        let text = text.into();
        let valid = (1..=70).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c))
            && !text.ends_with(' ');
        if valid {
            Ok(Boundary(text))
        } else {
            Err(PidfError::invalid("bad multipart boundary"))
        }
    }

    /// A fresh random boundary.
    pub fn random() -> Boundary {
        Boundary(random_token(Self::RANDOM_LEN))
    }

    /// The boundary text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fresh Content-ID (`token@domain`, without angle brackets) for a body part.
/// Characters of `domain` that cannot appear in a Content-ID are dropped.
pub fn random_content_id(domain: &str) -> String {
    let domain: String = domain
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-.".contains(*c))
        .collect();
    let domain = if domain.is_empty() {
        "herald.invalid"
    } else {
        domain.as_str()
    };
    format!("{}@{domain}", random_token(12))
}

fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Whether `cid` can stand between angle brackets in a header (printable ASCII, no
/// brackets, no spaces).
pub(crate) fn is_valid_content_id(cid: &str) -> bool {
    !cid.is_empty()
        && cid.len() <= 256
        && cid
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>' && b != b'"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_rfc_2046() {
        assert!(Boundary::new("50UBfW7LSCVLtggUPe5z").is_ok());
        assert!(Boundary::new("a b'(c)+_,-./:=?").is_ok());
        assert!(Boundary::new("x".repeat(70)).is_ok());
        for bad in ["", "trailing ", "semi;colon", "quote\"", "new\nline", "é"] {
            assert!(Boundary::new(bad).is_err(), "{bad:?}");
        }
        assert!(Boundary::new("x".repeat(71)).is_err());
        let random = Boundary::random();
        assert_eq!(random.as_str().len(), Boundary::RANDOM_LEN);
        assert!(Boundary::new(random.as_str()).is_ok());
        assert_ne!(Boundary::random(), random);
    }

    #[test]
    fn content_ids_are_usable() {
        let cid = random_content_id("pres.example.com");
        assert!(
            cid.ends_with("@pres.example.com") && is_valid_content_id(&cid),
            "{cid}"
        );
        assert!(random_content_id("<bad domain>").ends_with("@baddomain"));
        assert!(random_content_id("").ends_with("@herald.invalid"));
        for bad in ["", "a b", "<a>", "a\"b", "é"] {
            assert!(!is_valid_content_id(bad), "{bad:?}");
        }
    }
}
