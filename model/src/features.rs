//! The eight mushroom features, as the course's request generator sends them, and
//! their validation.
//!
//! A request is one flat JSON object whose keys are exactly the eight feature names of
//! the data set. Every value is a JSON number; categorical codes may arrive as `5` or
//! `5.0` because the course's generator writes them from a float array.
//!
//! Unknown extra fields are **rejected**, with the field named. The course's generator
//! sends exactly these eight keys; an extra key is nearly always a misspelling
//! (`cap_diameter`) or a value meant for another topic, and silently ignoring it would
//! hide that mistake from a student until the missing field surfaces somewhere else.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// Number of features the model reads.
pub const N_FEATURES: usize = 8;

/// How a feature's values are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// A measurement: any finite number ≥ 0.
    Numeric,
    /// A label-encoded category: an integer code in `0..=max`.
    Categorical { max: u32 },
}

/// One column of the data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    pub name: &'static str,
    pub kind: FeatureKind,
}

/// The features in the order of the data set's columns, which is also the order of the
/// model's input vector. The categorical ranges are those of the training data; a test
/// checks them against the CSV when it is present.
pub const FEATURES: [Feature; N_FEATURES] = [
    Feature { name: "cap-diameter", kind: FeatureKind::Numeric },
    Feature { name: "cap-shape", kind: FeatureKind::Categorical { max: 6 } },
    Feature { name: "gill-attachment", kind: FeatureKind::Categorical { max: 6 } },
    Feature { name: "gill-color", kind: FeatureKind::Categorical { max: 11 } },
    Feature { name: "stem-height", kind: FeatureKind::Numeric },
    Feature { name: "stem-width", kind: FeatureKind::Numeric },
    Feature { name: "stem-color", kind: FeatureKind::Categorical { max: 12 } },
    Feature { name: "season", kind: FeatureKind::Numeric },
];

/// The name of the label column in the CSV.
pub const LABEL_COLUMN: &str = "class";

/// The two classes, by label code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Edible = 0,
    Poisonous = 1,
}

impl Class {
    pub fn label(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::Edible => "edible",
            Class::Poisonous => "poisonous",
        }
    }

    pub fn from_label(label: usize) -> Option<Class> {
        match label {
            0 => Some(Class::Edible),
            1 => Some(Class::Poisonous),
            _ => None,
        }
    }
}

/// One validated inference request: the feature values in [`FEATURES`] order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MushroomFeatures(pub [f64; N_FEATURES]);

/// What is wrong with a request. Each variant names the field so that a dead letter
/// tells the sender what to fix.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValidationError {
    #[error("request is not valid JSON: {0}")]
    NotJson(String),
    #[error("request must be a JSON object with the eight feature fields, got {0}")]
    NotAnObject(&'static str),
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("unknown field `{0}` (expected only: {list})", list = feature_list())]
    UnknownField(String),
    #[error("field `{field}` must be a number, got {got}")]
    WrongType { field: &'static str, got: &'static str },
    #[error("field `{field}` must be finite, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    #[error("field `{field}` must not be negative, got {value}")]
    Negative { field: &'static str, value: f64 },
    #[error("field `{field}` is a category code and must be an integer, got {value}")]
    NotInteger { field: &'static str, value: f64 },
    #[error("field `{field}` must be a category code in 0..={max}, got {value}")]
    OutOfRange { field: &'static str, value: f64, max: u32 },
}

impl ValidationError {
    /// A short, stable reason code for metrics labels and dead-letter headers.
    pub fn reason(&self) -> &'static str {
        match self {
            ValidationError::NotJson(_) => "not_json",
            ValidationError::NotAnObject(_) => "not_an_object",
            ValidationError::MissingField(_) => "missing_field",
            ValidationError::UnknownField(_) => "unknown_field",
            ValidationError::WrongType { .. } => "wrong_type",
            ValidationError::NotFinite { .. } => "not_finite",
            ValidationError::Negative { .. } => "negative",
            ValidationError::NotInteger { .. } => "not_integer",
            ValidationError::OutOfRange { .. } => "out_of_range",
        }
    }
}

fn feature_list() -> String {
    FEATURES.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl MushroomFeatures {
    /// Parses and validates one request as it arrives on the topic.
    ///
    /// A well-formed request is read straight into numbers (no JSON tree, no allocation),
    /// which more than halves the inference service's reading cost. Anything that path
    /// refuses is read again as a JSON value, so every error names its field and reason
    /// exactly as [`Self::from_value`] does.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ValidationError> {
        if let Ok(raw) = serde_json::from_slice::<Raw>(bytes) {
            return Self::new(raw.into_values());
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| ValidationError::NotJson(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Validates an already parsed JSON value.
    pub fn from_value(value: &Value) -> Result<Self, ValidationError> {
        let Value::Object(map) = value else {
            return Err(ValidationError::NotAnObject(json_type(value)));
        };
        Self::from_map(map)
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, ValidationError> {
        if let Some(unknown) = map.keys().find(|k| !FEATURES.iter().any(|f| f.name == k.as_str())) {
            return Err(ValidationError::UnknownField(unknown.clone()));
        }
        let mut values = [0.0; N_FEATURES];
        for (slot, feature) in values.iter_mut().zip(FEATURES.iter()) {
            let raw = map.get(feature.name).ok_or(ValidationError::MissingField(feature.name))?;
            let number = raw.as_f64().ok_or(ValidationError::WrongType { field: feature.name, got: json_type(raw) })?;
            *slot = number;
        }
        Self::new(values)
    }

    /// Validates feature values given in [`FEATURES`] order.
    pub fn new(values: [f64; N_FEATURES]) -> Result<Self, ValidationError> {
        for (&value, feature) in values.iter().zip(FEATURES.iter()) {
            check_value(feature, value)?;
        }
        Ok(MushroomFeatures(values))
    }

    /// The request as the JSON object the course's generator sends.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        for (value, feature) in self.0.iter().zip(FEATURES.iter()) {
            let number = match feature.kind {
                FeatureKind::Categorical { .. } => Value::from(*value as u64),
                FeatureKind::Numeric => Value::from(*value),
            };
            map.insert(feature.name.to_owned(), number);
        }
        Value::Object(map)
    }
}

/// A request with exactly the eight fields, all numbers: the fast path of
/// [`MushroomFeatures::from_json`]. A test checks the names against [`FEATURES`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(rename = "cap-diameter")]
    cap_diameter: f64,
    #[serde(rename = "cap-shape")]
    cap_shape: f64,
    #[serde(rename = "gill-attachment")]
    gill_attachment: f64,
    #[serde(rename = "gill-color")]
    gill_color: f64,
    #[serde(rename = "stem-height")]
    stem_height: f64,
    #[serde(rename = "stem-width")]
    stem_width: f64,
    #[serde(rename = "stem-color")]
    stem_color: f64,
    season: f64,
}

impl Raw {
    /// In [`FEATURES`] order.
    fn into_values(self) -> [f64; N_FEATURES] {
        [
            self.cap_diameter,
            self.cap_shape,
            self.gill_attachment,
            self.gill_color,
            self.stem_height,
            self.stem_width,
            self.stem_color,
            self.season,
        ]
    }
}

fn check_value(feature: &Feature, value: f64) -> Result<(), ValidationError> {
    let field = feature.name;
    if !value.is_finite() {
        return Err(ValidationError::NotFinite { field, value });
    }
    if value < 0.0 {
        return Err(ValidationError::Negative { field, value });
    }
    if let FeatureKind::Categorical { max } = feature.kind {
        if value.fract() != 0.0 {
            return Err(ValidationError::NotInteger { field, value });
        }
        if value > f64::from(max) {
            return Err(ValidationError::OutOfRange { field, value, max });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "cap-diameter": 1372, "cap-shape": 2, "gill-attachment": 2, "gill-color": 10,
            "stem-height": 3.807466754, "stem-width": 1545, "stem-color": 11, "season": 1.804272709
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = valid();
        v[field] = value;
        v
    }

    #[test]
    fn a_course_request_is_accepted_in_column_order() {
        let f = MushroomFeatures::from_value(&valid()).unwrap();
        assert_eq!(f.0, [1372.0, 2.0, 2.0, 10.0, 3.807466754, 1545.0, 11.0, 1.804272709]);
    }

    #[test]
    fn integer_codes_may_arrive_as_floats() {
        let f = MushroomFeatures::from_value(&with("cap-shape", json!(5.0))).unwrap();
        assert_eq!(f.0[1], 5.0);
    }

    #[test]
    fn not_json_is_named() {
        let err = MushroomFeatures::from_json(b"{not json").unwrap_err();
        assert_eq!(err.reason(), "not_json");
        // Python's json.dumps writes NaN as a bare literal, which is not JSON.
        let err = MushroomFeatures::from_json(br#"{"cap-diameter": NaN}"#).unwrap_err();
        assert_eq!(err.reason(), "not_json");
    }

    #[test]
    fn not_an_object_is_named() {
        let err = MushroomFeatures::from_value(&json!([1, 2, 3])).unwrap_err();
        assert_eq!(err, ValidationError::NotAnObject("an array"));
    }

    #[test]
    fn missing_field_is_named() {
        let mut v = valid();
        v.as_object_mut().unwrap().remove("season");
        let err = MushroomFeatures::from_value(&v).unwrap_err();
        assert_eq!(err, ValidationError::MissingField("season"));
        assert_eq!(err.to_string(), "missing field `season`");
    }

    #[test]
    fn unknown_field_is_rejected_and_named() {
        let mut v = valid();
        v["cap_diameter"] = json!(3);
        let err = MushroomFeatures::from_value(&v).unwrap_err();
        assert_eq!(err, ValidationError::UnknownField("cap_diameter".into()));
        assert!(err.to_string().contains("cap_diameter"));
    }

    #[test]
    fn wrong_type_is_named() {
        let err = MushroomFeatures::from_value(&with("gill-color", json!("10"))).unwrap_err();
        assert_eq!(err, ValidationError::WrongType { field: "gill-color", got: "a string" });
        let err = MushroomFeatures::from_value(&with("stem-width", Value::Null)).unwrap_err();
        assert_eq!(err, ValidationError::WrongType { field: "stem-width", got: "null" });
    }

    #[test]
    fn nan_and_infinity_are_rejected() {
        let mut values = MushroomFeatures::from_value(&valid()).unwrap().0;
        values[4] = f64::NAN;
        assert!(matches!(MushroomFeatures::new(values), Err(ValidationError::NotFinite { field: "stem-height", .. })));
        values[4] = f64::INFINITY;
        assert!(matches!(MushroomFeatures::new(values), Err(ValidationError::NotFinite { field: "stem-height", .. })));
        // A JSON number too large for f64 parses to infinity in serde_json's float path.
        let err = MushroomFeatures::from_json(valid().to_string().replace("1545", "1e400").as_bytes());
        assert!(err.is_err(), "1e400 must not pass as a stem width");
    }

    #[test]
    fn negative_values_are_rejected() {
        let err = MushroomFeatures::from_value(&with("cap-diameter", json!(-1))).unwrap_err();
        assert_eq!(err, ValidationError::Negative { field: "cap-diameter", value: -1.0 });
    }

    #[test]
    fn categorical_codes_must_be_integers() {
        let err = MushroomFeatures::from_value(&with("stem-color", json!(3.5))).unwrap_err();
        assert_eq!(err, ValidationError::NotInteger { field: "stem-color", value: 3.5 });
    }

    #[test]
    fn categorical_codes_must_lie_in_the_training_range() {
        let err = MushroomFeatures::from_value(&with("cap-shape", json!(7))).unwrap_err();
        assert_eq!(err, ValidationError::OutOfRange { field: "cap-shape", value: 7.0, max: 6 });
        assert!(MushroomFeatures::from_value(&with("stem-color", json!(12))).is_ok());
        assert!(MushroomFeatures::from_value(&with("stem-color", json!(13))).is_err());
    }

    #[test]
    fn the_fast_path_reads_each_feature_into_its_column() {
        // Distinct values per column: a swapped or misnamed field in `Raw` changes the result.
        let values = [1372.0, 1.0, 2.0, 3.0, 3.5, 1545.0, 4.0, 0.25];
        let mut map = Map::new();
        for (v, f) in values.iter().zip(FEATURES.iter()) {
            map.insert(f.name.to_owned(), json!(v));
        }
        let bytes = serde_json::to_vec(&map).unwrap();
        let raw: Raw = serde_json::from_slice(&bytes).expect("the fast path takes a request with the eight names");
        assert_eq!(raw.into_values(), values);
    }

    #[test]
    fn from_json_gives_what_from_value_gives_for_good_and_bad_requests() {
        let mut missing = valid();
        missing.as_object_mut().unwrap().remove("season");
        let cases = [
            valid(),
            with("cap-shape", json!(5.0)),
            with("cap_diameter", json!(3)),
            with("gill-color", json!("10")),
            with("stem-width", Value::Null),
            with("cap-diameter", json!(-1)),
            with("stem-color", json!(3.5)),
            with("cap-shape", json!(7)),
            missing,
            json!([1, 2, 3]),
        ];
        for case in cases {
            let bytes = serde_json::to_vec(&case).unwrap();
            assert_eq!(MushroomFeatures::from_json(&bytes), MushroomFeatures::from_value(&case), "{case}");
        }
        // A repeated field: serde's typed path refuses it, the value path keeps the last.
        let twice = valid().to_string().replacen('{', r#"{"season": 3,"#, 1);
        assert_eq!(MushroomFeatures::from_json(twice.as_bytes()).unwrap().0[7], 1.804272709);
    }

    #[test]
    fn to_json_round_trips() {
        let f = MushroomFeatures::from_value(&valid()).unwrap();
        assert_eq!(MushroomFeatures::from_value(&f.to_json()).unwrap(), f);
    }
}
