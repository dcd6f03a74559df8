//! `herald archive export`: one user's archived instant messages as JSON lines or CSV.
//!
//! The store is read directly, never through the admin socket: SQLite in WAL mode lets this
//! reader run beside a live server, and an export can be large.
use crate::cli::{ArchiveCommand, ExportArgs, ExportFormat};
use crate::users;
use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use herald_store::{ArchiveRecord, SqliteStore, Store};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

const NANOS_PER_MS: i128 = 1_000_000;
/// The CSV columns, in order; exactly one of `body` and `body_base64` is filled in.
const CSV_HEADER: [&str; 8] = [
    "time",
    "from",
    "to",
    "call_id",
    "mode",
    "content_type",
    "body",
    "body_base64",
];

/// Runs an `archive` subcommand against the store in `data_dir`.
pub async fn run(data_dir: &Path, cmd: ArchiveCommand) -> Result<()> {
    match cmd {
        ArchiveCommand::Export(args) => export(data_dir, args).await,
    }
}

async fn export(data_dir: &Path, args: ExportArgs) -> Result<()> {
    if args.until.is_some_and(|until| until <= args.since) {
        bail!("--until must be later than --since");
    }
    let (user, domain) = users::split_address(&args.user)?;
    let aor = format!("{user}@{domain}");
    let path = data_dir.join("herald.db");
    // open_existing: a mistyped --data-dir must be an error, not an empty new store.
    let store = SqliteStore::open_existing(&path)
        .await
        .with_context(|| format!("cannot read the store {}", path.display()))?;
    let records = store
        .archived_for(&aor, args.since, args.until)
        .await
        .with_context(|| format!("reading the archive of {aor}"))?;
    store.close().await;

    match &args.output {
        Some(file) => {
            let out = std::fs::File::create(file)
                .with_context(|| format!("cannot create {}", file.display()))?;
            let mut out = std::io::BufWriter::new(out);
            write_records(&records, args.format, &mut out)
                .and_then(|()| out.flush().map_err(anyhow::Error::from))
                .with_context(|| format!("writing {}", file.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            write_records(&records, args.format, &mut out)
                .and_then(|()| out.flush().map_err(anyhow::Error::from))
                .context("writing to standard output")
        }
    }
}

/// Writes `records` in `format` to `out`.
pub fn write_records(
    records: &[ArchiveRecord],
    format: ExportFormat,
    out: &mut impl Write,
) -> Result<()> {
    match format {
        ExportFormat::Jsonl => write_jsonl(records, out),
        ExportFormat::Csv => write_csv(records, out),
    }
}

/// One exported record: the stored fields with the time made readable and the body as text
/// when it is UTF-8, else base64.
#[derive(Serialize)]
struct ExportedRecord<'a> {
    time: String,
    from: &'a str,
    to: &'a str,
    call_id: &'a str,
    mode: &'static str,
    content_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

impl<'a> ExportedRecord<'a> {
    fn new(rec: &'a ArchiveRecord) -> Result<Self> {
        let (body, body_base64) = match std::str::from_utf8(&rec.body) {
            Ok(text) => (Some(text), None),
            Err(_) => (None, Some(BASE64.encode(&rec.body))),
        };
        Ok(ExportedRecord {
            time: format_time(rec.at_ms)?,
            from: &rec.sender,
            to: &rec.recipient,
            call_id: &rec.call_id,
            mode: rec.mode.as_str(),
            content_type: &rec.content_type,
            body,
            body_base64,
        })
    }
}

fn write_jsonl(records: &[ArchiveRecord], out: &mut impl Write) -> Result<()> {
    for rec in records {
        serde_json::to_writer(&mut *out, &ExportedRecord::new(rec)?)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_csv(records: &[ArchiveRecord], out: &mut impl Write) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for rec in records {
        let e = ExportedRecord::new(rec)?;
        writer.write_record([
            e.time.as_str(),
            e.from,
            e.to,
            e.call_id,
            e.mode,
            e.content_type,
            e.body.unwrap_or_default(),
            e.body_base64.as_deref().unwrap_or_default(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Unix epoch milliseconds as RFC 3339 in UTC with milliseconds: `2026-01-31T08:05:09.042Z`.
pub fn format_time(ms: i64) -> Result<String> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * NANOS_PER_MS)
        .with_context(|| format!("archived time {ms} ms is out of range"))?;
    let text = at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))?;
    Ok(text)
}

/// Parses a command-line instant, `YYYY-MM-DD` (midnight UTC) or RFC 3339 with any offset,
/// into unix epoch milliseconds (sub-millisecond digits are dropped). The error is a sentence
/// clap shows after the option name.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let not_a_date = |why: &dyn std::fmt::Display| {
        format!(
            "{text:?} is not a date ({why}): write YYYY-MM-DD (midnight UTC) or RFC 3339 \
             such as 2026-01-31T09:30:00Z or 2026-01-31T09:30:00+01:00"
        )
    };
    // Without a time part the user meant a plain date; report that parser's complaint.
    let at = if text.contains(['T', 't']) {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|e| not_a_date(&e))?
    } else {
        Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map_err(|e| not_a_date(&e))?
            .midnight()
            .assume_offset(UtcOffset::UTC)
    };
    i64::try_from(at.unix_timestamp_nanos().div_euclid(NANOS_PER_MS))
        .map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_store::ImMode;

    /// 2026-01-31T08:05:09.042Z.
    const JAN_31_MS: i64 = 1_769_846_709_042;

    fn record(at_ms: i64, body: &[u8]) -> ArchiveRecord {
        ArchiveRecord {
            at_ms,
            sender: "alice@example.com".to_owned(),
            recipient: "bob@example.com".to_owned(),
            call_id: "c1@host".to_owned(),
            mode: ImMode::Pager,
            content_type: "text/plain;charset=UTF-8".to_owned(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn times_format_as_rfc3339_utc_with_milliseconds() {
        assert_eq!(format_time(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_time(JAN_31_MS).unwrap(), "2026-01-31T08:05:09.042Z");
        assert_eq!(format_time(-1).unwrap(), "1969-12-31T23:59:59.999Z");
        assert!(format_time(i64::MAX).is_err());
    }

    #[test]
    fn dates_and_rfc3339_instants_parse_to_epoch_milliseconds() {
        assert_eq!(parse_time("1970-01-01"), Ok(0));
        assert_eq!(parse_time("2026-01-31"), Ok(1_769_817_600_000));
        assert_eq!(parse_time("2026-01-31T08:05:09.042Z"), Ok(JAN_31_MS));
        assert_eq!(parse_time("2026-01-31T09:05:09.042+01:00"), Ok(JAN_31_MS));
        assert_eq!(parse_time("2026-01-31T08:05:09.042999Z"), Ok(JAN_31_MS));
        assert_eq!(parse_time("1969-12-31T23:59:59.9995Z"), Ok(-1));
        assert_eq!(
            parse_time(&format_time(JAN_31_MS).unwrap()),
            Ok(JAN_31_MS),
            "exported times read back"
        );
    }

    #[test]
    fn bad_dates_are_refused_with_a_hint() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-1-5",
            "2026-01-31T25:00:00Z",
            "2026-01-31T08:00:00",
            "2026-01-31 08:00:00Z extra",
            "31/01/2026",
        ] {
            let err = parse_time(bad).expect_err(bad);
            assert!(err.contains("YYYY-MM-DD"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn jsonl_reads_back_with_text_or_base64_bodies() {
        let mut session = record(JAN_31_MS + 1, &[0xff, 0x00, b'a']);
        session.mode = ImMode::Session;
        let records = [record(JAN_31_MS, "héllo \"you\"\nbye".as_bytes()), session];
        let mut out = Vec::new();
        write_records(&records, ExportFormat::Jsonl, &mut out).unwrap();

        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "time": "2026-01-31T08:05:09.042Z",
                "from": "alice@example.com",
                "to": "bob@example.com",
                "call_id": "c1@host",
                "mode": "pager",
                "content_type": "text/plain;charset=UTF-8",
                "body": "héllo \"you\"\nbye",
            })
        );
        assert_eq!(lines[1]["mode"], "session");
        assert_eq!(lines[1]["time"], "2026-01-31T08:05:09.043Z");
        assert!(lines[1].get("body").is_none());
        let decoded = BASE64
            .decode(lines[1]["body_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, [0xff, 0x00, b'a']);
    }

    #[test]
    fn csv_has_a_header_and_quotes_what_needs_quoting() {
        let records = [
            record(JAN_31_MS, b"a, \"quoted\"\nsecond line"),
            record(JAN_31_MS, &[0xc3, 0x28]),
            record(JAN_31_MS, b""),
        ];
        let mut out = Vec::new();
        write_records(&records, ExportFormat::Csv, &mut out).unwrap();

        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert_eq!(reader.headers().unwrap(), CSV_HEADER.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].iter().collect::<Vec<_>>(),
            [
                "2026-01-31T08:05:09.042Z",
                "alice@example.com",
                "bob@example.com",
                "c1@host",
                "pager",
                "text/plain;charset=UTF-8",
                "a, \"quoted\"\nsecond line",
                "",
            ]
        );
        assert_eq!(rows[1].get(6), Some(""));
        assert_eq!(
            BASE64.decode(rows[1].get(7).unwrap()).unwrap(),
            [0xc3, 0x28]
        );
        assert_eq!(rows[2].get(6), Some(""));
        assert_eq!(rows[2].get(7), Some(""));
    }

    #[test]
    fn an_empty_export_is_empty_jsonl_or_a_lone_csv_header() {
        let mut out = Vec::new();
        write_records(&[], ExportFormat::Jsonl, &mut out).unwrap();
        assert!(out.is_empty());
        write_records(&[], ExportFormat::Csv, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "time,from,to,call_id,mode,content_type,body,body_base64\n"
        );
    }

    /// A data directory whose store holds three messages of alice's and one of others'.
    async fn data_dir_with_archive() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("herald.db"))
            .await
            .unwrap();
        let day_ms = 24 * 60 * 60 * 1000;
        let jan_1 = parse_time("2026-01-01").unwrap();
        for (at_ms, sender, recipient, body) in [
            (
                jan_1 - 1,
                "alice@example.com",
                "bob@example.com",
                "december",
            ),
            (jan_1, "alice@example.com", "bob@example.com", "new year"),
            (
                jan_1 + day_ms,
                "bob@example.com",
                "alice@example.com",
                "reply",
            ),
            (
                jan_1 + day_ms,
                "carol@example.com",
                "bob@example.com",
                "other",
            ),
        ] {
            let mut rec = record(at_ms, body.as_bytes());
            rec.sender = sender.to_owned();
            rec.recipient = recipient.to_owned();
            store.archive(rec).await.unwrap();
        }
        store.close().await;
        dir
    }

    fn export_args(
        dir: &Path,
        since: &str,
        until: Option<&str>,
        format: ExportFormat,
    ) -> ExportArgs {
        ExportArgs {
            user: "sip:alice@EXAMPLE.com".to_owned(),
            since: parse_time(since).unwrap(),
            until: until.map(|u| parse_time(u).unwrap()),
            format,
            output: Some(dir.join("export.out")),
        }
    }

    #[tokio::test]
    async fn export_writes_the_users_records_in_range_to_the_output_file() {
        let dir = data_dir_with_archive().await;
        let args = export_args(dir.path(), "2026-01-01", None, ExportFormat::Jsonl);
        run(dir.path(), ArchiveCommand::Export(args)).await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("export.out")).unwrap();
        let bodies: Vec<String> = text
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                v["body"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(bodies, ["new year", "reply"]);

        let args = export_args(
            dir.path(),
            "2025-12-01",
            Some("2026-01-02T00:00:00Z"),
            ExportFormat::Csv,
        );
        run(dir.path(), ArchiveCommand::Export(args)).await.unwrap();
        let mut reader = csv::Reader::from_path(dir.path().join("export.out")).unwrap();
        let bodies: Vec<String> = reader
            .records()
            .map(|row| row.unwrap().get(6).unwrap().to_owned())
            .collect();
        assert_eq!(bodies, ["december", "new year"], "until is excluded");
    }

    #[tokio::test]
    async fn export_refuses_a_missing_store_and_an_empty_range() {
        let dir = tempfile::tempdir().unwrap();
        let args = export_args(dir.path(), "2026-01-01", None, ExportFormat::Jsonl);
        let err = run(dir.path(), ArchiveCommand::Export(args))
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read the store"),
            "{err:#}"
        );
        assert!(
            !dir.path().join("herald.db").exists(),
            "no empty store is created"
        );

        let dir = data_dir_with_archive().await;
        let args = export_args(
            dir.path(),
            "2026-01-02",
            Some("2026-01-01"),
            ExportFormat::Csv,
        );
        let err = run(dir.path(), ArchiveCommand::Export(args))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--until"), "{err:#}");
        assert!(!dir.path().join("export.out").exists());
    }
}
