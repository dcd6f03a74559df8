//! Numbers and addresses as text, for the fields every message carries (ports, status
//! codes, lengths, `received` addresses). `write!` goes through the formatting
//! machinery (a `dyn Write` adapter, padding checks) and cost, per IPv4 address, about
//! ten times these loops; it was a few per cent of the CPU of a REGISTER.
use std::net::IpAddr;

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `n` in decimal.
pub fn push_decimal_str(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends `ip` in its usual text form (IPv6 without brackets).
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    ip_pieces(ip, |piece| out.extend_from_slice(piece.as_bytes()));
}

/// Appends `ip` in its usual text form (IPv6 without brackets).
pub fn push_ip_str(out: &mut String, ip: IpAddr) {
    ip_pieces(ip, |piece| out.push_str(piece));
}

/// `ip` as a string (IPv6 without brackets).
pub fn ip_string(ip: IpAddr) -> String {
    let mut out = String::with_capacity(15);
    push_ip_str(&mut out, ip);
    out
}

fn ip_pieces(ip: IpAddr, mut piece: impl FnMut(&str)) {
    match ip {
        IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    piece(".");
                }
                piece(digits.format(octet));
            }
        }
        // Rare, and its shortest form (RFC 5952) is more than a loop.
        IpAddr::V6(v6) => piece(&v6.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_as_display() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "192.0.2.255",
            "10.20.3.4",
            "::1",
            "2001:db8::7",
            "::ffff:192.0.2.1",
        ] {
            let ip: IpAddr = ip.parse().expect("address");
            let mut bytes = Vec::new();
            push_ip(&mut bytes, ip);
            assert_eq!(bytes, ip.to_string().into_bytes());
            assert_eq!(ip_string(ip), ip.to_string());
        }
        for n in [0u32, 7, 10, 65_535, u32::MAX] {
            let mut bytes = b"x".to_vec();
            push_decimal(&mut bytes, n);
            assert_eq!(bytes, format!("x{n}").into_bytes());
            let mut text = "x".to_owned();
            push_decimal_str(&mut text, n);
            assert_eq!(text, format!("x{n}"));
        }
    }
}
