//! Choosing the response to send upstream when no branch answered 2xx (RFC 3261 §16.7
//! item 6): a 6xx if there is one, else the lowest class; within a class an answer a
//! device actually gave beats a timeout we made up.

/// Index of the best final response among `statuses` (all >= 300), or None if empty.
pub fn best_response(statuses: &[u16]) -> Option<usize> {
    statuses
        .iter()
        .enumerate()
        .min_by_key(|(i, s)| (rank(**s), *i))
        .map(|(i, _)| i)
}

fn rank(status: u16) -> (u16, u16) {
    let class = status / 100;
    // 6xx first, then 3xx, 4xx, 5xx.
    let class_rank = if class == 6 { 0 } else { class };
    // Inside a class: answers with meaning for the caller first; 408 (no answer,
    // often ours), 480 and 503 last.
    let within = match status {
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
            assert_eq!(best_response(statuses), *want, "{statuses:?}");
        }
        assert_eq!(upstream_status(503), 500);
        assert_eq!(upstream_status(486), 486);
    }
}
