//! Logging in: LOGIN, or SASL PLAIN, OAUTHBEARER (RFC 7628) or XOAUTH2
//! through AUTHENTICATE, with an initial response where the server offers
//! SASL-IR (RFC 4959).

use std::borrow::Cow;

use imap_codec::AuthenticateDataCodec;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::auth::{AuthMechanism, AuthenticateData};
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::response::Code;
use imap_codec::imap_types::secret::Secret;

use super::{Done, Session};
use crate::bindings::cfimap::imap::types::Credentials;
use crate::error::{Error, Result};

impl Session {
    /// Logs in as `username`; a refusal becomes
    /// [`Error::AuthenticationFailed`], and the capabilities are learnt again.
    pub(super) fn login(&mut self, username: &str, credentials: &Credentials) -> Result<()> {
        let outcome = match credentials {
            Credentials::Password(password) => self.login_password(username, password),
            Credentials::BearerToken(token) => self.login_bearer(username, token),
        };
        let done = outcome.map_err(|e| match e {
            Error::ServerRefused { text, .. } => Error::AuthenticationFailed(text),
            other => other,
        })?;
        // Servers such as Dovecot announce UIDPLUS and MOVE only after login.
        match done.code {
            Some(Code::Capability(caps)) => {
                self.set_capabilities(caps.as_ref());
                Ok(())
            }
            _ => self.refresh_capabilities(),
        }
    }

    fn login_password(&mut self, username: &str, password: &str) -> Result<Done> {
        if self.has_capability("AUTH=PLAIN") {
            let mut message = Vec::with_capacity(username.len() + password.len() + 2);
            message.push(0);
            message.extend_from_slice(username.as_bytes());
            message.push(0);
            message.extend_from_slice(password.as_bytes());
            return self.authenticate(AuthMechanism::Plain, message, None);
        }
        if self.has_capability("LOGINDISABLED") {
            return Err(Error::Unsupported(
                "the server disables LOGIN and offers no AUTH=PLAIN".into(),
            ));
        }
        let username = AString::try_from(username)
            .map_err(|_| Error::invalid("username", "cannot be sent in a LOGIN command"))?;
        let password = AString::try_from(password)
            .map_err(|_| Error::invalid("password", "cannot be sent in a LOGIN command"))?;
        self.run(CommandBody::Login {
            username,
            password: Secret::new(password),
        })
    }

    fn login_bearer(&mut self, username: &str, token: &str) -> Result<Done> {
        if self.has_capability("AUTH=OAUTHBEARER") {
            let message = format!(
                "n,a={},\x01auth=Bearer {token}\x01\x01",
                sasl_name(username)
            );
            // On failure the server sends a JSON challenge; the client answers
            // with a lone ^A and then gets the tagged NO (RFC 7628 §3.2.3).
            return self.authenticate(
                AuthMechanism::OAuthBearer,
                message.into_bytes(),
                Some(vec![1]),
            );
        }
        if self.has_capability("AUTH=XOAUTH2") {
            let message = format!("user={username}\x01auth=Bearer {token}\x01\x01");
            return self.authenticate(AuthMechanism::XOAuth2, message.into_bytes(), Some(vec![]));
        }
        Err(Error::Unsupported(
            "the server offers neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2 for a bearer token".into(),
        ))
    }

    /// AUTHENTICATE with one client message: as the initial response when the
    /// server offers SASL-IR, otherwise after its first `+`. `on_error` is the
    /// answer to an error challenge that follows.
    fn authenticate(
        &mut self,
        mechanism: AuthMechanism<'static>,
        message: Vec<u8>,
        on_error: Option<Vec<u8>>,
    ) -> Result<Done> {
        let sasl_ir = self.has_capability("SASL-IR");
        let mut pending = if sasl_ir { None } else { Some(message.clone()) };
        let initial_response = sasl_ir.then(|| Secret::new(Cow::Owned(message)));
        let mut error_answer = on_error;
        self.run_with(
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            },
            move |_challenge| {
                let data = match pending.take() {
                    Some(message) => message,
                    None => error_answer.take().ok_or(())?,
                };
                Ok(AuthenticateDataCodec::default()
                    .encode(&AuthenticateData::Continue(Secret::new(Cow::Owned(data))))
                    .dump())
            },
        )
    }
}

/// A SASL `saslname` (RFC 5801): `,` and `=` escaped.
fn sasl_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}
