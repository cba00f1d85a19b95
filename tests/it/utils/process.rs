//! The real `cobro` binary as a child process, for the tests that kill or stop it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{ADMIN, SECRET};

pub struct Server {
    pub child: Child,
    pub url: String,
}

/// A test that fails half-way still stops its process (an exited one is left as it is).
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `cobro serve` on a free port against this database and these MP/GHL bases.
pub fn spawn_cobro(database_url: &str, mp: &str, ghl: &str, extra: &[(&str, &str)]) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cobro"));
    command
        .arg("serve")
        .env_remove("COBRO_CONFIG")
        .env("COBRO_BIND", format!("127.0.0.1:{port}"))
        .env("COBRO_DATABASE_URL", database_url)
        .env("COBRO_ADMIN_TOKEN", ADMIN)
        .env("COBRO_MP_WEBHOOK_SECRET", SECRET)
        .env("COBRO_MP_API_BASE", mp)
        .env("COBRO_GHL_API_BASE", ghl)
        .stdout(Stdio::null());
    // `COBRO_TEST_NODE_LOGS=info cargo test ...` shows what the processes log.
    match std::env::var("COBRO_TEST_NODE_LOGS") {
        Ok(level) => command.env("RUST_LOG", level).stderr(Stdio::inherit()),
        Err(_) => command.env("RUST_LOG", "error").stderr(Stdio::null()),
    };
    for (key, value) in extra {
        command.env(key, value);
    }
    let child = command.spawn().expect("cobro starts");
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

pub async fn wait_ready(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{url}/ready")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cobro did not become ready");
}

/// Waits for the child to exit on its own; `None` if it is still running after `limit`.
pub async fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Runs one `cobro` command to its end against this database (no `COBRO_CONFIG`, no secret key
/// unless `env` gives one).
pub fn run_cobro(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cobro"));
    command
        .args(args)
        .env("COBRO_DATABASE_URL", database_url)
        .env_remove("COBRO_CONFIG")
        .env_remove("COBRO_SECRET_KEY")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("cobro runs")
}
