//! One integration-test binary: every test runs the real Cobro against a real database (SQLite by
//! default, PostgreSQL when `COBRO_TEST_POSTGRES_URL` is set) and wiremock fakes of MP and GHL.

mod cluster_pulls;
mod e2e_actors;
mod e2e_api;
mod e2e_batches;
mod e2e_cli;
mod e2e_cluster;
mod e2e_cluster_fencing;
mod e2e_contract;
mod e2e_crash;
mod e2e_deliveries;
mod e2e_demo;
mod e2e_faults;
mod e2e_fraud_alerts;
mod e2e_history;
mod e2e_ingest;
mod e2e_load;
mod e2e_mp_topics;
mod e2e_oauth;
mod e2e_oauth_refresh;
mod e2e_onboarding;
mod e2e_pipeline;
mod e2e_retention;
mod e2e_retry;
mod e2e_search;
mod e2e_secrets;
mod e2e_shutdown;
mod e2e_stats;
mod e2e_ws;
mod layers;
mod migration_accounts;
mod prop_parsers;
mod tenant_directory;
mod utils;
mod writer_next_claim;
