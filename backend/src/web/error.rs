//! The one error type of the HTTP API. Each domain error says once, here, whose fault it
//! was (the status); handlers end in `?`. Every error reaches the client as
//! `{"error": "..."}`.

use super::access::Denied;
use crate::exercises::CatalogError;
use crate::inference::redrive::RedriveError;
use crate::kafka::admin::TopicError;
use crate::kafka::groups::GroupError;
use crate::kafka::metadata::MetadataError;
use crate::kafka::records::RecordsError;
use crate::load::generator::RateError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An API failure: a status and a message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl ToString) -> Self {
        ApiError { status, message: message.to_string() }
    }

    pub fn bad_request(message: impl ToString) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl ToString) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl ToString) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(streamlab_wire::ApiError { error: self.message })).into_response()
    }
}

/// Unreadable JSON bodies get the same `{"error"}` shape as everything else.
impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        Self::new(e.status(), format!("cannot read the request body: {}", e.body_text()))
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(e)
    }
}

impl From<TopicError> for ApiError {
    fn from(e: TopicError) -> Self {
        let status = match e {
            TopicError::InvalidName(_) | TopicError::InvalidPartitions(_) | TopicError::Invalid(_) => {
                StatusCode::BAD_REQUEST
            }
            TopicError::Exists(_) => StatusCode::CONFLICT,
            TopicError::Missing(_) => StatusCode::NOT_FOUND,
            TopicError::Broker(_) => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, e)
    }
}

impl From<RecordsError> for ApiError {
    fn from(e: RecordsError) -> Self {
        let status = match e {
            RecordsError::NoTopic(_) | RecordsError::NoPartition { .. } | RecordsError::NoRecord { .. } => {
                StatusCode::NOT_FOUND
            }
            RecordsError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RecordsError::Invalid(_) => StatusCode::BAD_REQUEST,
            RecordsError::Kafka(_) => StatusCode::BAD_GATEWAY,
            RecordsError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e)
    }
}

impl From<RedriveError> for ApiError {
    fn from(e: RedriveError) -> Self {
        match e {
            RedriveError::BadReason(_) => Self::bad_request(e),
            RedriveError::Nothing { .. } => Self::not_found(e),
            RedriveError::Records(e) => e.into(),
            RedriveError::Kafka(_) => Self::new(StatusCode::BAD_GATEWAY, e),
        }
    }
}

impl From<GroupError> for ApiError {
    fn from(e: GroupError) -> Self {
        let status = match e {
            GroupError::Missing(_) | GroupError::NoTopic(_) => StatusCode::NOT_FOUND,
            GroupError::Active { .. } => StatusCode::CONFLICT,
            GroupError::NothingCommitted(_) => StatusCode::BAD_REQUEST,
            GroupError::Kafka(_) => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, e)
    }
}

/// The broker could not be read: its fault, not the client's.
impl From<MetadataError> for ApiError {
    fn from(e: MetadataError) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, e)
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Unknown(_) => Self::not_found(e),
            e => Self::bad_request(e),
        }
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        Self::new(d.status, d.message)
    }
}

impl From<RateError> for ApiError {
    fn from(e: RateError) -> Self {
        Self::bad_request(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_says_whose_fault_it_was() {
        let status = |e: ApiError| e.status;
        assert_eq!(status(TopicError::Exists("t".into()).into()), StatusCode::CONFLICT);
        assert_eq!(status(TopicError::InvalidName("a b".into()).into()), StatusCode::BAD_REQUEST);
        assert_eq!(status(TopicError::Broker("down".into()).into()), StatusCode::BAD_GATEWAY);
        assert_eq!(status(RecordsError::TooLarge { size: 2, limit: 1 }.into()), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status(GroupError::Active { group: "g".into(), members: 1 }.into()), StatusCode::CONFLICT);
        assert_eq!(status(CatalogError::Unknown("99".into()).into()), StatusCode::NOT_FOUND);
        assert_eq!(status(CatalogError::BadStudent("a b".into()).into()), StatusCode::BAD_REQUEST);
    }
}
