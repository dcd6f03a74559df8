//! The README documents the activity-to-number mapping; it must say what the code does.
use herald_pidf::Activity;
use herald_pidf::availability::activity_availability;

#[test]
fn the_readme_mapping_table_matches_the_code() {
    let readme = include_str!("../../../README.md");
    let mut checked = 0;
    for row in readme.lines().filter(|l| l.starts_with("| activity `")) {
        let mut cells = row.split('|').map(str::trim).filter(|c| !c.is_empty());
        let (Some(published), Some(number)) = (cells.next(), cells.next()) else {
            panic!("bad row: {row}");
        };
        let number: u32 = number
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number in: {row}"));
        for name in published.split('`').skip(1).step_by(2) {
            // `other`=lunch: the free-text activity, checked below.
            if name == "other" {
                continue;
            }
            let activity = Activity::from_element_name(name)
                .unwrap_or_else(|| panic!("README names an unknown activity {name}"));
            assert_eq!(
                activity_availability(&activity).value(),
                number,
                "README says {name} is {number}"
            );
            checked += 1;
        }
    }
    assert_eq!(
        activity_availability(&Activity::Other("lunch".into())).value(),
        12000,
        "README: other=lunch is Be Right Back"
    );
    assert!(
        checked >= 15,
        "the README table was not found ({checked} rows checked)"
    );
}
