//! RFC 3339 timestamps in UTC from [`SystemTime`], without a calendar crate: the
//! proleptic Gregorian date of a day count is a few lines of integer arithmetic.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as an RFC 3339 UTC date-time with milliseconds: `2026-11-21T10:11:12.345Z`.
pub fn now_datetime() -> String {
    rfc3339_utc(SystemTime::now())
}

/// `time` as an RFC 3339 UTC date-time with milliseconds. A time before 1970 (a clock
/// set far back) is written as the epoch.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The (year, month 1-12, day 1-31) that is `days` days after 1970-01-01.
///
/// Counts in 400-year eras starting on March 1st, so that the leap day is the last day
/// of a year: an era always has 146 097 days, and inside a March-based year the month
/// lengths follow a fixed 153-days-per-5-months pattern.
pub(crate) fn civil_from_days(days: u64) -> (u64, u32, u32) {
    // Days from 0000-03-01 to 1970-01-01.
    const EPOCH_SHIFT: u64 = 719_468;
    const DAYS_PER_ERA: u64 = 146_097;
    let z = days + EPOCH_SHIFT;
    let era = z / DAYS_PER_ERA;
    let day_of_era = z % DAYS_PER_ERA;
    // Removes the leap days so far in the era (one every 4 years, none every 100,
    // one every 400) before dividing by 365.
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // March = 0 ... February = 11.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    // Both are small by construction (1..=31 and 1..=12).
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(31), (1970, 2, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(365), (1971, 1, 1));
        // 2000 is a leap year (divisible by 400): Feb 29th exists.
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(11_322), (2000, 12, 31));
        // 2100 is not (divisible by 100 only).
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_413), (2025, 11, 21));
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        let mut previous = civil_from_days(0);
        for days in 1..200_000 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let next_day = (y, m, d) == (py, pm, pd + 1);
            let next_month = (y, m, d) == (py, pm + 1, 1);
            let next_year = (y, m, d) == (py + 1, 1, 1) && (pm, pd) == (12, 31);
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            if next_month {
                let leap = py % 4 == 0 && (py % 100 != 0 || py % 400 == 0);
                let length = match pm {
                    2 if leap => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                assert_eq!(pd, length, "month {pm} of {py}");
            }
            previous = (y, m, d);
        }
    }

    #[test]
    fn formats_utc_with_milliseconds() {
        let at = |secs: u64, millis: u64| {
            rfc3339_utc(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        // 2001-09-09T01:46:40Z is Unix time 1 000 000 000.
        assert_eq!(at(1_000_000_000, 7), "2001-09-09T01:46:40.007Z");
        // 2038-01-19T03:14:07Z is 2^31 - 1.
        assert_eq!(at(2_147_483_647, 999), "2038-01-19T03:14:07.999Z");
        assert_eq!(
            rfc3339_utc(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00.000Z"
        );
        let now = now_datetime();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }
}
