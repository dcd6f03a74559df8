//! Choosing the response to send upstream when no branch answered 2xx (RFC 3261 §16.7
//! item 6): a 6xx if there is one, else the lowest class; within a class an answer a
//! device actually gave beats a timeout we made up.

/// A final response (>= 300) of one branch: its status, and whether a device sent it
/// (as opposed to a timeout or transport failure the proxy turned into 408/503).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub status: u16,
    pub from_device: bool,
}

/// Index of the best final response among `candidates`, or None if empty.
pub fn best_response(candidates: &[Candidate]) -> Option<usize> {
    candidates
        .iter()
        .enumerate()
        .min_by_key(|(i, c)| (rank(**c), *i))
        .map(|(i, _)| i)
}

fn rank(c: Candidate) -> (u16, u16) {
    let class = c.status / 100;
    // 6xx first, then 3xx, 4xx, 5xx.
    let class_rank = if class == 6 { 0 } else { class };
    // Inside a class: answers with meaning for the caller first; then "not now"
    // answers (480, 503, a device's own 408); a timeout we made up last.
    let within = match c.status {
        _ if !c.from_device => 3,
        401 | 407 => 0,
        408 | 480 | 503 => 2,
        _ => 1,
    };
    (class_rank, within)
}

/// §16.7 item 6: a 503 must not go upstream as is (it would make the caller think the
/// proxy itself is overloaded).
pub fn upstream_status(status: u16) -> u16 {
    if status == 503 { 500 } else { status }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(statuses: &[u16]) -> Vec<Candidate> {
        statuses
            .iter()
            .map(|&status| Candidate {
                status,
                from_device: true,
            })
            .collect()
    }

    #[test]
    fn selection_follows_16_7() {
        let cases: &[(&[u16], Option<usize>)] = &[
            (&[], None),
            (&[486], Some(0)),
            (&[486, 603], Some(1)),
            (&[408, 486], Some(1)),
            (&[503, 404], Some(1)),
            (&[302, 404], Some(0)),
            (&[408, 480], Some(0)),
            (&[480, 407], Some(1)),
            (&[500, 503], Some(0)),
            (&[408, 408, 415], Some(2)),
        ];
        for (statuses, want) in cases {
            assert_eq!(best_response(&device(statuses)), *want, "{statuses:?}");
        }
        // A timeout we made up loses to any answer of its class, whatever the order.
        let made_up = Candidate {
            status: 408,
            from_device: false,
        };
        let mut mixed = device(&[480]);
        mixed.insert(0, made_up);
        assert_eq!(best_response(&mixed), Some(1));
        mixed.reverse();
        assert_eq!(best_response(&mixed), Some(0));
        // ...but not to a 6xx, and it still beats a 5xx.
        assert_eq!(best_response(&[made_up, device(&[500])[0]]), Some(0));
        assert_eq!(upstream_status(503), 500);
        assert_eq!(upstream_status(486), 486);
    }
}
