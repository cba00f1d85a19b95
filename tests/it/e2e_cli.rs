//! The real binary: `--help`, `tenant add|list` on a fresh database, `migrate`, and a bad
//! configuration stopping start-up with one line that names the variable.

use std::process::{Command, Output};

use crate::utils::TestDb;

fn cobro(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    crate::utils::process::run_cobro(&db.url, args, env)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[actix_web::test]
async fn tenant_add_prints_a_token_once_and_list_shows_no_secrets() {
    let db = TestDb::new().await;
    let added = cobro(
        &db,
        &[
            "tenant",
            "add",
            "--name",
            "Academia",
            "--mp-user-id",
            "2079614828",
            "--mp-access-token",
            "APP_USR-cli",
        ],
        &[("COBRO_MP_WEBHOOK_SECRET", "platform-secret")],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let text = stdout(&added);
    assert!(text.contains("admin_token: cbt_"), "{text}");

    let listed = cobro(&db, &["tenant", "list"], &[]);
    let list = stdout(&listed);
    assert!(
        list.contains("2079614828") && list.contains("Academia"),
        "{list}"
    );
    assert!(
        !list.contains("APP_USR-cli") && !list.contains("cbt_"),
        "{list}"
    );

    let duplicate = cobro(
        &db,
        &[
            "tenant",
            "add",
            "--name",
            "Again",
            "--mp-user-id",
            "2079614828",
            "--mp-access-token",
            "x",
        ],
        &[("COBRO_MP_WEBHOOK_SECRET", "platform-secret")],
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
}

#[actix_web::test]
async fn bad_configuration_is_one_clear_line() {
    let db = TestDb::new().await;
    let cases = [
        ("COBRO_RETRY_SCHEDULE", "", "COBRO_RETRY_SCHEDULE"),
        ("COBRO_MP_API_BASE", "not a url", "COBRO_MP_API_BASE"),
        ("COBRO_HTTP_TIMEOUT_MS", "soon", "COBRO_HTTP_TIMEOUT_MS"),
    ];
    for (key, value, named) in cases {
        let output = cobro(&db, &["migrate"], &[(key, value)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{key}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(named) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    let output = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .args(["migrate"])
        .env("COBRO_DATABASE_URL", "mysql://localhost/x")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("COBRO_DATABASE_URL"));
}

#[test]
fn help_documents_every_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .arg("--help")
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "tenant"] {
        assert!(help.contains(command), "{help}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_cobro"))
        .args(["tenant", "add", "--help"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&output.stdout).contains("--mp-user-id"));
}

#[actix_web::test]
async fn json_logs_are_one_object_per_line() {
    let db = TestDb::new().await;
    let output = cobro(
        &db,
        &["migrate"],
        &[("COBRO_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.lines().count() >= 1, "some log lines");
    for line in stderr.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            value["level"].is_string() && value["message"].is_string(),
            "{line}"
        );
    }
}
