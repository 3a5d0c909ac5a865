//! The policy is enforced by the host's transport, whatever the component asks for.

use cfimap_host::{ConnectOptions, Credentials, Error, Policy, Runtime, RuntimeOptions, Security};

fn runtime(policy: Policy) -> Runtime {
    Runtime::new(RuntimeOptions::new(policy)).unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn options(port: u16) -> ConnectOptions {
    ConnectOptions {
        port: Some(port),
        secure: Some(Security::None),
        timeout: Some(5),
        ..ConnectOptions::new("127.0.0.1", "u", Credentials::Password("secret-pw".into()))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_outside_the_policy_is_denied() {
    let rt = runtime(Policy::only("127.0.0.1", 143));
    let err = rt.open(&options(1)).await.expect_err("must be denied");
    assert!(matches!(err, Error::DeniedByPolicy(_)), "{err:?}");
    assert!(!err.to_string().contains("secret-pw"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_inside_the_policy_is_tried() {
    let rt = runtime(Policy::only("127.0.0.1", 1));
    // Port 1 on loopback: nothing listens there.
    let err = rt
        .open(&options(1))
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
}
