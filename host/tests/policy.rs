//! The policy is enforced by the host's transport, whatever the component asks for.

use cfimap_host::{ConnectOptions, Credentials, Error, Policy, Runtime, RuntimeOptions, Security};

fn runtime(policy: Policy) -> Option<Runtime> {
    match Runtime::new(RuntimeOptions::new(policy)) {
        Ok(rt) => Some(rt),
        // Built against the empty placeholder component: nothing to run.
        Err(Error::Load(why)) => {
            eprintln!("skipped: {why}");
            None
        }
        Err(e) => panic!("runtime: {e}"),
    }
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
    let Some(rt) = runtime(Policy::only("127.0.0.1", 143)) else {
        return;
    };
    let err = rt.open(&options(1)).await.expect_err("must be denied");
    assert!(matches!(err, Error::DeniedByPolicy(_)), "{err:?}");
    assert!(!err.to_string().contains("secret-pw"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_inside_the_policy_is_tried() {
    let Some(rt) = runtime(Policy::only("127.0.0.1", 1)) else {
        return;
    };
    // Port 1 on loopback: nothing listens there.
    let err = rt
        .open(&options(1))
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
}
