//! Who may sign in to the cluster and what each user may do: SCRAM users and ACLs, through
//! Kafka's Admin API (what `kafka-configs.sh --entity-type users` and `kafka-acls.sh` do).
//!
//! rust-rdkafka wraps neither, so these call librdkafka's C functions through
//! `rdkafka::bindings`, each as the admin calls of `configs` do: build the request, send it
//! with a queue of its own, wait for its one event, read the answer before the event goes.
//!
//! Also here: [`refused_sign_in`], which tells "wrong password" apart from "no broker".

use crate::kafka::KafkaConfig;
use rdkafka::bindings as rdsys;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::ffi::{CStr, CString, c_char};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

/// SCRAM's iteration count: Kafka's minimum, as `kafka-configs.sh` uses by default.
const ITERATIONS: i32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("cannot create a Kafka client: {0}")]
    Client(#[from] KafkaError),
    #[error(
        "this cluster checks no rights (it has no authorizer): start it with ./lab kafka start --sasl, \
         or set authorizer.class.name on its brokers"
    )]
    NoAuthorizer,
    #[error(
        "the cluster refused: this user (-X sasl.username) may not {0}; a super user may, like the \
         teacher whose settings ./lab kafka start --sasl prints"
    )]
    NotAllowed(&'static str),
    #[error("the cluster refused to {0}: {1}")]
    Broker(&'static str, String),
    #[error("`{0}` holds a NUL byte")]
    Nul(String),
}

/// What an ACL lets do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    Other(u32),
}

/// An ACL that allows or denies `principal` an operation on topics or groups named `name`
/// (or starting with it, when `prefixed`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Acl {
    pub principal: String,
    pub group: bool,
    pub name: String,
    pub prefixed: bool,
    pub operation: Operation,
    pub host: String,
    pub allow: bool,
}

impl Acl {
    /// Allows `user`, from any host.
    pub fn allow(user: &str, group: bool, name: &str, prefixed: bool, operation: Operation) -> Acl {
        Acl {
            principal: format!("User:{user}"),
            group,
            name: name.to_owned(),
            prefixed,
            operation,
            host: "*".to_owned(),
            allow: true,
        }
    }
}

impl std::fmt::Display for Acl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.group { "group" } else { "topic" };
        let star = if self.prefixed { "*" } else { "" };
        let verb = if self.allow { "allow" } else { "deny" };
        write!(f, "{verb} {} {:?} on {kind} {}{star}", self.principal, self.operation, self.name)?;
        if self.host != "*" {
            write!(f, " from {}", self.host)?;
        }
        Ok(())
    }
}

fn cstring(s: &str) -> Result<CString, SecurityError> {
    CString::new(s).map_err(|_| SecurityError::Nul(s.to_owned()))
}

/// # Safety
/// `p` is null or a NUL-terminated string that outlives the call.
unsafe fn text(p: *const c_char) -> String {
    if p.is_null() { String::new() } else { unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned() }
}

/// An error librdkafka returned in an answer: `None` when there is none.
///
/// # Safety
/// `e` is null or a valid `rd_kafka_error_t` owned by its answer.
unsafe fn answer_error(e: *const rdsys::rd_kafka_error_t) -> Option<(RDKafkaErrorCode, String)> {
    if e.is_null() {
        return None;
    }
    // SAFETY: as the caller promises.
    let code = RDKafkaErrorCode::from(unsafe { rdsys::rd_kafka_error_code(e) });
    // Some answers carry an error object that says "no error".
    (code != RDKafkaErrorCode::NoError).then(|| (code, unsafe { text(rdsys::rd_kafka_error_string(e)) }))
}

/// The one event an admin request answers with; destroyed when dropped.
struct Answer(*mut rdsys::rd_kafka_event_t);

impl Drop for Answer {
    fn drop(&mut self) {
        // SAFETY: the event came from rd_kafka_queue_poll and is destroyed once, here.
        unsafe { rdsys::rd_kafka_event_destroy(self.0) }
    }
}

/// Sends one admin request (`send` is given the client, its options and a queue) and waits
/// for its answer; an error of the whole request becomes `what`'s error.
fn request(
    kafka: &KafkaConfig,
    op: rdsys::rd_kafka_admin_op_t,
    what: &'static str,
    send: impl FnOnce(*mut rdsys::rd_kafka_t, *mut rdsys::rd_kafka_AdminOptions_t, *mut rdsys::rd_kafka_queue_t),
) -> Result<Answer, SecurityError> {
    let admin = kafka.admin()?;
    let rk = admin.inner().native_ptr();
    // SAFETY: the options and the queue are created, used and destroyed here; `send` only
    // hands them to librdkafka's admin call, which copies what it keeps.
    unsafe {
        let options = rdsys::rd_kafka_AdminOptions_new(rk, op);
        let mut errstr = [0 as c_char; 256];
        rdsys::rd_kafka_AdminOptions_set_request_timeout(options, TIMEOUT.as_millis() as i32, errstr.as_mut_ptr(), 256);
        let queue = rdsys::rd_kafka_queue_new(rk);
        send(rk, options, queue);
        rdsys::rd_kafka_AdminOptions_destroy(options);
        let event = rdsys::rd_kafka_queue_poll(queue, (TIMEOUT.as_millis() + 2_000) as i32);
        rdsys::rd_kafka_queue_destroy(queue);
        if event.is_null() {
            return Err(SecurityError::Broker(what, "no answer in time".into()));
        }
        let answer = Answer(event);
        let code = rdsys::rd_kafka_event_error(event);
        if code != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(refused(what, RDKafkaErrorCode::from(code), text(rdsys::rd_kafka_event_error_string(event))));
        }
        Ok(answer)
    }
}

/// The cluster's refusal of `what`, in words.
fn refused(what: &'static str, code: RDKafkaErrorCode, message: String) -> SecurityError {
    match code {
        RDKafkaErrorCode::SecurityDisabled => SecurityError::NoAuthorizer,
        RDKafkaErrorCode::ClusterAuthorizationFailed => SecurityError::NotAllowed(what),
        _ if message.is_empty() => SecurityError::Broker(what, code.to_string()),
        _ => SecurityError::Broker(what, format!("{code}: {message}")),
    }
}

/// What the cluster lets `kafka`'s user do to the cluster itself (Kafka's cluster
/// operations: Describe, Alter, …; a super user gets all). Blocking.
pub fn cluster_operations(kafka: &KafkaConfig) -> Result<Vec<Operation>, SecurityError> {
    let answer = request(
        kafka,
        rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
        "describe itself",
        // SAFETY: the options are valid; the flag is set before the request copies them.
        |rk, options, queue| unsafe {
            let error = rdsys::rd_kafka_AdminOptions_set_include_authorized_operations(options, 1);
            if !error.is_null() {
                rdsys::rd_kafka_error_destroy(error);
            }
            rdsys::rd_kafka_DescribeCluster(rk, options, queue)
        },
    )?;
    // SAFETY: the operations belong to the answer, read before it is dropped.
    unsafe {
        let result = rdsys::rd_kafka_event_DescribeCluster_result(answer.0);
        let mut n = 0;
        let ops = rdsys::rd_kafka_DescribeCluster_result_authorized_operations(result, &mut n);
        Ok((0..n).map(|i| operation(*ops.add(i))).collect())
    }
}

/// The users that have a SCRAM credential, sorted. Blocking.
pub fn users(kafka: &KafkaConfig) -> Result<Vec<String>, SecurityError> {
    let what = "list its users";
    // librdkafka (2.12 to 2.16 at least) frees an invalid pointer when this request is refused
    // and aborts the process: so ask first whether it would be.
    let allowed = cluster_operations(kafka)?;
    if !allowed.iter().any(|op| matches!(op, Operation::Describe | Operation::Alter | Operation::All)) {
        return Err(SecurityError::NotAllowed(what));
    }
    let answer = request(
        kafka,
        rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEUSERSCRAMCREDENTIALS,
        what,
        // SAFETY: no user names: every user is described.
        |rk, options, queue| unsafe {
            rdsys::rd_kafka_DescribeUserScramCredentials(rk, std::ptr::null_mut(), 0, options, queue)
        },
    )?;
    let mut users = Vec::new();
    // SAFETY: the descriptions belong to the answer, read before it is dropped.
    unsafe {
        let result = rdsys::rd_kafka_event_DescribeUserScramCredentials_result(answer.0);
        let mut n = 0;
        let descriptions = rdsys::rd_kafka_DescribeUserScramCredentials_result_descriptions(result, &mut n);
        for i in 0..n {
            let d = *descriptions.add(i);
            match answer_error(rdsys::rd_kafka_UserScramCredentialsDescription_error(d)) {
                None => users.push(text(rdsys::rd_kafka_UserScramCredentialsDescription_user(d))),
                Some((RDKafkaErrorCode::ResourceNotFound, _)) => {}
                Some((code, message)) => return Err(refused(what, code, message)),
            }
        }
    }
    users.sort();
    Ok(users)
}

/// A user and whether the cluster changed it (or why not).
pub type UserOutcome = (String, Result<(), String>);

/// Sets each user's SCRAM-SHA-256 password (creating the user), or removes the user when
/// the password is `None`. Each user's outcome, in order. Blocking.
pub fn alter_users(
    kafka: &KafkaConfig,
    changes: &[(String, Option<String>)],
) -> Result<Vec<UserOutcome>, SecurityError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let names = changes.iter().map(|(u, _)| cstring(u)).collect::<Result<Vec<_>, _>>()?;
    let what = "change its users";
    let sha256 = rdsys::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_256;
    // SAFETY: the names and passwords outlive the calls that copy them; the alterations are
    // destroyed after the request is sent.
    let mut alterations: Vec<_> = changes
        .iter()
        .zip(&names)
        .map(|((_, password), name)| unsafe {
            match password {
                Some(p) => rdsys::rd_kafka_UserScramCredentialUpsertion_new(
                    name.as_ptr(),
                    sha256,
                    ITERATIONS,
                    p.as_ptr(),
                    p.len(),
                    std::ptr::null(),
                    0,
                ),
                None => rdsys::rd_kafka_UserScramCredentialDeletion_new(name.as_ptr(), sha256),
            }
        })
        .collect();
    let sent = request(kafka, rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERUSERSCRAMCREDENTIALS, what, {
        let alterations = &mut alterations;
        // SAFETY: the alterations are valid; librdkafka copies them.
        move |rk, options, queue| unsafe {
            rdsys::rd_kafka_AlterUserScramCredentials(rk, alterations.as_mut_ptr(), alterations.len(), options, queue)
        }
    });
    // SAFETY: each alteration was created above and is destroyed once.
    unsafe { rdsys::rd_kafka_UserScramCredentialAlteration_destroy_array(alterations.as_mut_ptr(), alterations.len()) };
    let answer = sent?;
    let mut outcomes = Vec::new();
    // SAFETY: the responses belong to the answer, read before it is dropped.
    unsafe {
        let result = rdsys::rd_kafka_event_AlterUserScramCredentials_result(answer.0);
        let mut n = 0;
        let responses = rdsys::rd_kafka_AlterUserScramCredentials_result_responses(result, &mut n);
        for i in 0..n {
            let r = *responses.add(i);
            let user = text(rdsys::rd_kafka_AlterUserScramCredentials_result_response_user(r));
            let outcome = match answer_error(rdsys::rd_kafka_AlterUserScramCredentials_result_response_error(r)) {
                None => Ok(()),
                Some((RDKafkaErrorCode::ClusterAuthorizationFailed, _)) => {
                    return Err(SecurityError::NotAllowed(what));
                }
                Some((code, m)) if m.is_empty() => Err(code.to_string()),
                Some((_, m)) => Err(m),
            };
            outcomes.push((user, outcome));
        }
    }
    Ok(outcomes)
}

fn operation(op: rdsys::rd_kafka_AclOperation_t) -> Operation {
    use rdsys::rd_kafka_AclOperation_t::*;
    match op {
        RD_KAFKA_ACL_OPERATION_ALL => Operation::All,
        RD_KAFKA_ACL_OPERATION_READ => Operation::Read,
        RD_KAFKA_ACL_OPERATION_WRITE => Operation::Write,
        RD_KAFKA_ACL_OPERATION_CREATE => Operation::Create,
        RD_KAFKA_ACL_OPERATION_DELETE => Operation::Delete,
        RD_KAFKA_ACL_OPERATION_ALTER => Operation::Alter,
        RD_KAFKA_ACL_OPERATION_DESCRIBE => Operation::Describe,
        other => Operation::Other(other as u32),
    }
}

fn native_operation(op: Operation) -> rdsys::rd_kafka_AclOperation_t {
    use rdsys::rd_kafka_AclOperation_t::*;
    match op {
        Operation::All => RD_KAFKA_ACL_OPERATION_ALL,
        Operation::Read => RD_KAFKA_ACL_OPERATION_READ,
        Operation::Write => RD_KAFKA_ACL_OPERATION_WRITE,
        Operation::Create => RD_KAFKA_ACL_OPERATION_CREATE,
        Operation::Delete => RD_KAFKA_ACL_OPERATION_DELETE,
        Operation::Alter => RD_KAFKA_ACL_OPERATION_ALTER,
        Operation::Describe => RD_KAFKA_ACL_OPERATION_DESCRIBE,
        // Read from the cluster, never written back: deleting one uses the exact filter of
        // the other fields and any operation.
        Operation::Other(_) => RD_KAFKA_ACL_OPERATION_ANY,
    }
}

/// An ACL binding (or, `filter`, a binding filter) for `acl`; the caller destroys it.
fn binding(acl: &Acl, filter: bool) -> Result<*mut rdsys::rd_kafka_AclBinding_t, SecurityError> {
    let (name, principal, host) = (cstring(&acl.name)?, cstring(&acl.principal)?, cstring(&acl.host)?);
    let restype = if acl.group {
        rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_GROUP
    } else {
        rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC
    };
    let pattern = if acl.prefixed {
        rdsys::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_PREFIXED
    } else {
        rdsys::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_LITERAL
    };
    let permission = if acl.allow {
        rdsys::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW
    } else {
        rdsys::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_DENY
    };
    let mut errstr = [0 as c_char; 256];
    // SAFETY: the strings live through the call, which copies them.
    let made = unsafe {
        let new = if filter { rdsys::rd_kafka_AclBindingFilter_new } else { rdsys::rd_kafka_AclBinding_new };
        new(
            restype,
            name.as_ptr(),
            pattern,
            principal.as_ptr(),
            host.as_ptr(),
            native_operation(acl.operation),
            permission,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if made.is_null() {
        // SAFETY: librdkafka wrote a NUL-terminated message into errstr.
        return Err(SecurityError::Broker("describe an ACL", unsafe { text(errstr.as_ptr()) }));
    }
    Ok(made)
}

/// Every ACL on topics and groups, sorted. Blocking.
pub fn acls(kafka: &KafkaConfig) -> Result<Vec<Acl>, SecurityError> {
    let mut errstr = [0 as c_char; 256];
    // SAFETY: a filter matching every binding; destroyed after the request is sent.
    let filter = unsafe {
        rdsys::rd_kafka_AclBindingFilter_new(
            rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_ANY,
            std::ptr::null(),
            rdsys::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_ANY,
            std::ptr::null(),
            std::ptr::null(),
            rdsys::rd_kafka_AclOperation_t::RD_KAFKA_ACL_OPERATION_ANY,
            rdsys::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    let what = "list its ACLs";
    let sent =
        request(kafka, rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS, what, |rk, options, queue| {
            // SAFETY: the filter is valid; librdkafka copies it.
            unsafe { rdsys::rd_kafka_DescribeAcls(rk, filter, options, queue) }
        });
    // SAFETY: created above, destroyed once.
    unsafe { rdsys::rd_kafka_AclBinding_destroy(filter) };
    let answer = sent?;
    let mut found = Vec::new();
    // SAFETY: the bindings belong to the answer, read before it is dropped.
    unsafe {
        let result = rdsys::rd_kafka_event_DescribeAcls_result(answer.0);
        let mut n = 0;
        let bindings = rdsys::rd_kafka_DescribeAcls_result_acls(result, &mut n);
        for i in 0..n {
            let b = *bindings.add(i);
            let group = match rdsys::rd_kafka_AclBinding_restype(b) {
                rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC => false,
                rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_GROUP => true,
                _ => continue, // the cluster's or transactional ids': not the class's
            };
            found.push(Acl {
                principal: text(rdsys::rd_kafka_AclBinding_principal(b)),
                group,
                name: text(rdsys::rd_kafka_AclBinding_name(b)),
                prefixed: rdsys::rd_kafka_AclBinding_resource_pattern_type(b)
                    == rdsys::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
                operation: operation(rdsys::rd_kafka_AclBinding_operation(b)),
                host: text(rdsys::rd_kafka_AclBinding_host(b)),
                allow: rdsys::rd_kafka_AclBinding_permission_type(b)
                    == rdsys::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
            });
        }
    }
    found.sort();
    Ok(found)
}

/// Creates `add` and deletes `remove` (each exactly, nothing more). Blocking.
pub fn change_acls(kafka: &KafkaConfig, add: &[Acl], remove: &[Acl]) -> Result<(), SecurityError> {
    use rdsys::rd_kafka_admin_op_t::{RD_KAFKA_ADMIN_OP_CREATEACLS, RD_KAFKA_ADMIN_OP_DELETEACLS};
    // SAFETY (both readers): the results belong to the answer, read before it is dropped.
    send_acls(
        kafka,
        add,
        false,
        RD_KAFKA_ADMIN_OP_CREATEACLS,
        "create ACLs",
        rdsys::rd_kafka_CreateAcls,
        |event| unsafe {
            let mut n = 0;
            let results =
                rdsys::rd_kafka_CreateAcls_result_acls(rdsys::rd_kafka_event_CreateAcls_result(event), &mut n);
            (0..n).find_map(|i| answer_error(rdsys::rd_kafka_acl_result_error(*results.add(i))))
        },
    )?;
    send_acls(
        kafka,
        remove,
        true,
        RD_KAFKA_ADMIN_OP_DELETEACLS,
        "delete ACLs",
        rdsys::rd_kafka_DeleteAcls,
        |event| unsafe {
            let mut n = 0;
            let responses =
                rdsys::rd_kafka_DeleteAcls_result_responses(rdsys::rd_kafka_event_DeleteAcls_result(event), &mut n);
            (0..n).find_map(|i| answer_error(rdsys::rd_kafka_DeleteAcls_result_response_error(*responses.add(i))))
        },
    )
}

/// The native admin call that takes ACL bindings (CreateAcls) or filters (DeleteAcls).
type AclCall = unsafe extern "C" fn(
    *mut rdsys::rd_kafka_t,
    *mut *mut rdsys::rd_kafka_AclBinding_t,
    usize,
    *const rdsys::rd_kafka_AdminOptions_t,
    *mut rdsys::rd_kafka_queue_t,
);

/// Sends `acls` (as filters when `filter`) with `call`; the answer's first error, as
/// `first_error` finds it, is the refusal of `what`.
fn send_acls(
    kafka: &KafkaConfig,
    acls: &[Acl],
    filter: bool,
    op: rdsys::rd_kafka_admin_op_t,
    what: &'static str,
    call: AclCall,
    first_error: impl FnOnce(*mut rdsys::rd_kafka_event_t) -> Option<(RDKafkaErrorCode, String)>,
) -> Result<(), SecurityError> {
    if acls.is_empty() {
        return Ok(());
    }
    let mut bindings = acls.iter().map(|a| binding(a, filter)).collect::<Result<Vec<_>, _>>()?;
    let sent = request(kafka, op, what, {
        let bindings = &mut bindings;
        // SAFETY: the bindings are valid; librdkafka copies them.
        move |rk, options, queue| unsafe { call(rk, bindings.as_mut_ptr(), bindings.len(), options, queue) }
    });
    // SAFETY: each binding was created above and is destroyed once.
    unsafe { rdsys::rd_kafka_AclBinding_destroy_array(bindings.as_mut_ptr(), bindings.len()) };
    let answer = sent?;
    match first_error(answer.0) {
        Some((code, message)) => Err(refused(what, code, message)),
        None => Ok(()),
    }
}

/// Whether the broker refused `consumer`'s sign-in (a wrong user name, password or
/// mechanism), waiting up to `wait` to hear it. librdkafka reports it as an error event on
/// the client's queue, served by `poll`; the request that was waiting for the broker only
/// times out.
pub fn refused_sign_in<C: ConsumerContext>(consumer: &BaseConsumer<C>, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Some(Err(e)) = consumer.poll(Duration::from_millis(50))
            && e.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication)
        {
            return true;
        }
    }
    false
}

/// A client context that keeps librdkafka's complaints out of the log: a sign-in tried with
/// a password that may no longer be right is refused loudly, several times over, and a
/// class of sixty would fill the teacher's terminal.
struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {}
    fn error(&self, _: KafkaError, _: &str) {}
}

impl ConsumerContext for Quiet {}

/// Whether `user` signs in to the cluster with `password` (the other `-X` settings as
/// `kafka`'s). Blocking: as long as the broker takes to answer or refuse, up to 5 s.
pub fn signs_in(kafka: &KafkaConfig, user: &str, password: &str) -> Result<bool, KafkaError> {
    let consumer: BaseConsumer<Quiet> =
        kafka.client().set("sasl.username", user).set("sasl.password", password).create_with_context(Quiet)?;
    // A refusal comes within a few hundred milliseconds: asked in short rounds, it is heard
    // then rather than after one long timeout.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match consumer.fetch_metadata(None, Duration::from_millis(400)) {
            Ok(_) => return Ok(true),
            Err(_) if refused_sign_in(&consumer, Duration::from_millis(100)) => return Ok(false),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => {}
        }
    }
}

/// Whether `kafka`'s clients sign in with SASL (`-X security.protocol=SASL_…`).
pub fn uses_sasl(kafka: &KafkaConfig) -> bool {
    kafka.properties.iter().any(|(k, v)| k == "security.protocol" && v.to_ascii_uppercase().starts_with("SASL"))
}

/// The SASL mechanism `kafka`'s clients use, when they sign in.
pub fn mechanism(kafka: &KafkaConfig) -> Option<String> {
    uses_sasl(kafka).then(|| {
        kafka
            .properties
            .iter()
            .find(|(k, _)| k == "sasl.mechanism" || k == "sasl.mechanisms")
            .map_or_else(|| "GSSAPI".to_owned(), |(_, v)| v.clone())
    })
}
