//! `herald conferences`: the monitoring records of group IM conferences, newest first, as
//! tab-separated lines or JSON lines.
//!
//! Like `archive export`, the store is read directly, never through the admin socket: SQLite
//! in WAL mode lets this reader run beside a live server.
use crate::archive::format_time;
use crate::cli::ConferencesArgs;
use anyhow::{Context, Result};
use herald_store::{ConferenceRecord, SqliteStore, Store};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Lists the conference records of the store in `data_dir` on standard output.
pub async fn run(data_dir: &Path, args: ConferencesArgs) -> Result<()> {
    let path = data_dir.join("herald.db");
    // open_existing: a mistyped --data-dir must be an error, not an empty new store.
    let store = SqliteStore::open_existing(&path)
        .await
        .with_context(|| format!("cannot read the store {}", path.display()))?;
    let records = store
        .conference_records(args.limit)
        .await
        .context("reading the conference records")?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    write_records(&records, args.json, &mut out)
        .and_then(|()| out.flush().map_err(anyhow::Error::from))
        .context("writing to standard output")
}

/// Writes `records` to `out`: one JSON object per line with `json`, else one line of
/// tab-separated columns each (URI, creator, start, end or "running", reason, message
/// count, participants separated by commas).
pub fn write_records(records: &[ConferenceRecord], json: bool, out: &mut impl Write) -> Result<()> {
    for record in records {
        let listed = ListedConference::new(record)?;
        if json {
            serde_json::to_writer(&mut *out, &listed)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", listed.line())?;
        }
    }
    Ok(())
}

/// One record as listed: the stored fields with times made readable.
#[derive(Serialize)]
struct ListedConference<'a> {
    uri: &'a str,
    creator: &'a str,
    started: String,
    /// `None` (JSON null) while the conference runs.
    ended: Option<String>,
    end_reason: Option<&'a str>,
    message_count: u64,
    participants: &'a [String],
}

impl<'a> ListedConference<'a> {
    fn new(record: &'a ConferenceRecord) -> Result<Self> {
        Ok(ListedConference {
            uri: &record.uri,
            creator: &record.creator,
            started: format_time(record.started_ms)?,
            ended: record.ended_ms.map(format_time).transpose()?,
            end_reason: record.end_reason.as_deref(),
            message_count: record.message_count,
            participants: &record.participants,
        })
    }

    /// The tab-separated text line. The store keeps tabs and line breaks out of every field
    /// (addresses and end reasons are checked), so the columns stay apart.
    fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.uri,
            self.creator,
            self.started,
            self.ended.as_deref().unwrap_or("running"),
            self.end_reason.unwrap_or_default(),
            self.message_count,
            self.participants.join(",")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-31T08:05:09.042Z.
    const JAN_31_MS: i64 = 1_769_846_709_042;

    fn ended() -> ConferenceRecord {
        ConferenceRecord {
            uri: "conf-ab12@example.com".to_owned(),
            creator: "alice@example.com".to_owned(),
            started_ms: JAN_31_MS,
            ended_ms: Some(JAN_31_MS + 60_000),
            end_reason: Some("last participant left".to_owned()),
            message_count: 12,
            participants: vec!["alice@example.com".to_owned(), "bob@example.com".to_owned()],
        }
    }

    fn running() -> ConferenceRecord {
        ConferenceRecord {
            uri: "conf-cd34@example.com".to_owned(),
            creator: "bob@example.com".to_owned(),
            started_ms: JAN_31_MS + 1,
            ended_ms: None,
            end_reason: None,
            message_count: 0,
            participants: vec![],
        }
    }

    fn written(records: &[ConferenceRecord], json: bool) -> String {
        let mut out = Vec::new();
        write_records(records, json, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_lines_have_one_column_per_field_and_say_running() {
        assert_eq!(
            written(&[running(), ended()], false),
            "conf-cd34@example.com\tbob@example.com\t2026-01-31T08:05:09.043Z\trunning\t\t0\t\n\
             conf-ab12@example.com\talice@example.com\t2026-01-31T08:05:09.042Z\t\
             2026-01-31T08:06:09.042Z\tlast participant left\t12\t\
             alice@example.com,bob@example.com\n"
        );
    }

    #[test]
    fn json_lines_carry_every_field_with_null_while_running() {
        let text = written(&[running(), ended()], true);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                serde_json::json!({
                    "uri": "conf-cd34@example.com",
                    "creator": "bob@example.com",
                    "started": "2026-01-31T08:05:09.043Z",
                    "ended": null,
                    "end_reason": null,
                    "message_count": 0,
                    "participants": [],
                }),
                serde_json::json!({
                    "uri": "conf-ab12@example.com",
                    "creator": "alice@example.com",
                    "started": "2026-01-31T08:05:09.042Z",
                    "ended": "2026-01-31T08:06:09.042Z",
                    "end_reason": "last participant left",
                    "message_count": 12,
                    "participants": ["alice@example.com", "bob@example.com"],
                }),
            ]
        );
        assert_eq!(written(&[], true), "");
        assert_eq!(written(&[], false), "");
    }

    #[test]
    fn an_unprintable_time_is_an_error() {
        let mut bad = ended();
        bad.ended_ms = Some(i64::MAX);
        assert!(write_records(&[bad], false, &mut Vec::new()).is_err());
    }

    #[tokio::test]
    async fn the_newest_records_of_the_store_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("herald.db"))
            .await
            .unwrap();
        for (i, started_ms) in [JAN_31_MS, JAN_31_MS + 2, JAN_31_MS + 1]
            .into_iter()
            .enumerate()
        {
            let uri = format!("conf-{i}@example.com");
            store
                .conference_started(&uri, "alice@example.com", started_ms)
                .await
                .unwrap();
            store
                .conference_joined(&uri, "bob@example.com", started_ms)
                .await
                .unwrap();
        }
        // A server running on the same store does not keep this reader out.
        let records = {
            let reader = SqliteStore::open_existing(&dir.path().join("herald.db"))
                .await
                .unwrap();
            let records = reader.conference_records(2).await.unwrap();
            reader.close().await;
            records
        };
        store.close().await;
        let text = written(&records, false);
        let uris: Vec<&str> = text
            .lines()
            .map(|line| line.split('\t').next().unwrap())
            .collect();
        assert_eq!(uris, ["conf-1@example.com", "conf-2@example.com"]);
    }

    #[tokio::test]
    async fn a_missing_store_is_an_error_and_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConferencesArgs {
            limit: 50,
            json: false,
        };
        let err = run(dir.path(), args).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read the store"),
            "{err:#}"
        );
        assert!(!dir.path().join("herald.db").exists());
    }
}
