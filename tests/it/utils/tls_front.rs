//! A PostgreSQL endpoint that speaks TLS with a certificate the test creates (issue 26): it
//! answers the client's `SSLRequest` with `S`, completes the TLS handshake with a server
//! certificate for `localhost` signed by a CA of its own, and passes the decrypted protocol to the
//! real PostgreSQL of the run. The database and Cobro's TLS client are real; only the server's
//! certificate is the test's, so `sslmode=verify-full` can be checked against a CA the test
//! holds (and refused against one it does not) on any machine. Stopped when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The protocol's `SSLRequest`: length 8, then the code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

pub struct TlsFront {
    pub port: u16,
    /// The CA that signed the front's certificate, PEM, for `sslrootcert`.
    pub ca_pem: String,
    handshakes: Arc<AtomicU64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` (PostgreSQL, plain TCP).
    pub async fn start(upstream: SocketAddr) -> Self {
        let (ca_pem, acceptor) = certificates();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("free port");
        let port = listener.local_addr().expect("bound").port();
        let handshakes = Arc::new(AtomicU64::new(0));
        let counted = handshakes.clone();
        let accepting = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection's task.
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, counted) = (acceptor.clone(), counted.clone());
                connections.spawn(async move {
                    let _ = serve(client, acceptor, upstream, &counted).await;
                });
            }
        });
        Self {
            port,
            ca_pem,
            handshakes,
            accepting,
        }
    }

    /// TLS handshakes completed so far.
    pub fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// One client: `SSLRequest` → `S` → TLS → bytes both ways with the upstream server.
async fn serve(
    mut client: TcpStream,
    acceptor: TlsAcceptor,
    upstream: SocketAddr,
    handshakes: &AtomicU64,
) -> std::io::Result<()> {
    let mut request = [0u8; 8];
    client.read_exact(&mut request).await?;
    if request != SSL_REQUEST {
        return Err(std::io::Error::other("this front only speaks TLS"));
    }
    client.write_all(b"S").await?;
    let mut tls = acceptor.accept(client).await?;
    handshakes.fetch_add(1, Ordering::Relaxed);
    let mut server = TcpStream::connect(upstream).await?;
    tokio::io::copy_bidirectional(&mut tls, &mut server).await?;
    Ok(())
}

/// A CA (PEM) and an acceptor presenting a certificate for `localhost` signed by it.
fn certificates() -> (String, TlsAcceptor) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Cobro test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server_params =
        CertificateParams::new(vec!["localhost".to_owned()]).expect("server parameters");
    let server = server_params
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let chain = vec![CertificateDer::from(server.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server TLS configuration");
    (ca.pem(), TlsAcceptor::from(Arc::new(config)))
}

/// A CA that signed nothing the front presents: `verify-full` against it must fail.
pub fn unrelated_ca_pem() -> String {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("parameters");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Unrelated CA");
    params.self_signed(&key).expect("certificate").pem()
}
