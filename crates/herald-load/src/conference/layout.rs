//! Who is in which conference, and in what order participants take turns sending.
//!
//! Conference `c` holds users `c*P .. c*P+P-1` (user `c*P` creates it); a user's slot
//! is its place in its conference. Turn `k` belongs to slot `(k / C) % P` of conference
//! `k % C`: consecutive messages go to different conferences, and every participant
//! sends once per `C*P` turns, so a total rate is spread evenly over everyone.

/// The shape of a conference run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    conferences: usize,
    participants: usize,
}

impl Layout {
    /// `conferences` conferences of `participants` each (at least two: a conference
    /// of one fans out nothing).
    pub fn new(conferences: usize, participants: usize) -> Result<Self, String> {
        if conferences == 0 {
            return Err("there must be at least one conference".into());
        }
        if participants < 2 {
            return Err("a conference needs at least 2 participants".into());
        }
        conferences
            .checked_mul(participants)
            .ok_or_else(|| "too many users".to_owned())?;
        Ok(Layout {
            conferences,
            participants,
        })
    }

    /// Number of conferences.
    pub fn conferences(&self) -> usize {
        self.conferences
    }

    /// Participants per conference.
    pub fn participants(&self) -> usize {
        self.participants
    }

    /// Users in all.
    pub fn users(&self) -> usize {
        self.conferences * self.participants
    }

    /// The conference of `user`.
    pub fn conference_of(&self, user: usize) -> usize {
        user / self.participants
    }

    /// The slot of `user` in its conference.
    pub fn slot_of(&self, user: usize) -> usize {
        user % self.participants
    }

    /// The user in `slot` of conference `conference`, if both exist.
    pub fn user(&self, conference: usize, slot: usize) -> Option<usize> {
        (conference < self.conferences && slot < self.participants)
            .then(|| conference * self.participants + slot)
    }

    /// The creator of conference `conference`.
    pub fn creator(&self, conference: usize) -> Option<usize> {
        self.user(conference, 0)
    }

    /// The user whose turn `turn` is.
    pub fn turn(&self, turn: u64) -> usize {
        let users = self.users() as u64;
        let k = turn % users;
        let conferences = self.conferences as u64;
        let conference = (k % conferences) as usize;
        let slot = ((k / conferences) % self.participants as u64) as usize;
        conference * self.participants + slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_conferences_and_slots() {
        let l = Layout::new(50, 20).expect("valid");
        assert_eq!(l.users(), 1000);
        assert_eq!(l.conference_of(0), 0);
        assert_eq!(l.conference_of(19), 0);
        assert_eq!(l.conference_of(20), 1);
        assert_eq!(l.slot_of(47), 7);
        assert_eq!(l.user(2, 7), Some(47));
        assert_eq!(l.user(50, 0), None);
        assert_eq!(l.user(0, 20), None);
        assert_eq!(l.creator(3), Some(60));
    }

    #[test]
    fn turns_visit_everyone_once_per_round_and_alternate_conferences() {
        let l = Layout::new(3, 4).expect("valid");
        let round: Vec<usize> = (0..12).map(|k| l.turn(k)).collect();
        let mut sorted = round.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..12).collect::<Vec<_>>());
        for pair in round.windows(2) {
            assert_ne!(l.conference_of(pair[0]), l.conference_of(pair[1]));
        }
        assert_eq!(l.turn(12), l.turn(0));
        assert_eq!(l.turn(u64::MAX), l.turn(u64::MAX % 12));
    }

    #[test]
    fn impossible_shapes_are_refused() {
        assert!(Layout::new(0, 20).is_err());
        assert!(Layout::new(5, 1).is_err());
        assert!(Layout::new(usize::MAX, 3).is_err());
        assert!(Layout::new(1, 2).is_ok());
    }
}
