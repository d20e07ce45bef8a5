//! The classroom exercises and their checker.
//!
//! The exercises are data in the repository's `exercises/` folder: `index.toml` lists the
//! folders in course order; each folder has `exercise.toml` (title, seed, conditions) and
//! `README.md` (the instructions; `README.de.md` where a German version exists). They are
//! built into the binary; `--exercises DIR` reads them from a folder instead, so a teacher
//! can change an exercise without rebuilding.
//!
//! - [`conditions`]: what `exercise.toml` may say.
//! - [`probe`]: reading a broker the way the checks need (whole topics, offsets, groups).
//! - [`kinds`]: one module per condition kind: holds, or why not.
//! - [`compare`]: numbers at their source's precision, expected beside seen.
//! - [`check`]: running an exercise's conditions in order, each within its time limit, for
//!   one student or a roster; and the report printed by `streamlab check`.
//! - [`class`]: the class tokens students sign in with.
//! - [`rights`]: the class's users and ACLs on a cluster that checks them.

pub mod check;
pub mod class;
pub mod compare;
pub mod conditions;
pub mod kinds;
pub mod probe;
pub mod rights;

use conditions::{Condition, ExerciseFile, FailureDetails};
use std::collections::BTreeMap;
use std::path::Path;
use streamlab_wire::{ConditionInfo, ConditionText, ExerciseInfo, ExerciseText};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/exercises.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{file}, line {line}: {message}")]
    Parse { file: String, line: usize, message: String },
    #[error("{file}, line {line}: {message}")]
    Roster { file: String, line: usize, message: String },
    #[error("{0} is listed in index.toml but has no exercise.toml")]
    Missing(String),
    #[error("no exercise `{0}` (streamlab check --list shows them)")]
    Unknown(String),
    #[error("{file}: [de.conditions.{id}] translates no condition of the exercise")]
    Untranslatable { file: String, id: String },
    #[error("student names are letters, digits, `-` and `_` (at most 40), got `{0}`")]
    BadStudent(String),
}

/// One exercise: what the lab shows and what the checker checks.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub info: ExerciseInfo,
    pub conditions: Vec<Condition>,
    /// This exercise's own limit on failure details (`failure_details` in exercise.toml).
    pub failure_details: Option<FailureDetails>,
}

/// Every exercise, in course order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub exercises: Vec<Exercise>,
}

#[derive(serde::Deserialize)]
struct Index {
    exercises: Vec<String>,
}

impl Catalog {
    /// The exercises built into this binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let files: BTreeMap<String, String> =
            embedded::EXERCISE_FILES.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        Catalog::from_files(&files, "exercises/")
    }

    /// The exercises in a folder laid out like the repository's `exercises/`.
    pub fn from_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| CatalogError::Read(path.display().to_string(), e))
        };
        let mut files = BTreeMap::new();
        let index = read("index.toml")?;
        let parsed: Index = parse(&dir.join("index.toml").display().to_string(), &index)?;
        files.insert("index.toml".to_owned(), index);
        for id in parsed.exercises {
            for name in ["exercise.toml", "README.md", "README.de.md"] {
                let name = format!("{id}/{name}");
                if let Ok(text) = read(&name) {
                    files.insert(name, text);
                }
            }
        }
        Catalog::from_files(&files, &format!("{}/", dir.display()))
    }

    /// `origin` is put before each file's name in errors: where the teacher finds it.
    fn from_files(files: &BTreeMap<String, String>, origin: &str) -> Result<Catalog, CatalogError> {
        let index: Index =
            parse(&format!("{origin}index.toml"), files.get("index.toml").map_or("exercises = []", String::as_str))?;
        let mut exercises = Vec::new();
        for (i, id) in index.exercises.iter().enumerate() {
            let name = format!("{id}/exercise.toml");
            let text = files.get(&name).ok_or_else(|| CatalogError::Missing(id.clone()))?;
            let file: ExerciseFile = parse(&format!("{origin}{name}"), text)?;
            let readme = files.get(&format!("{id}/README.md")).map_or("", String::as_str);
            let de = match &file.de {
                Some(t) => {
                    let readme_de = files.get(&format!("{id}/README.de.md")).map_or(readme, String::as_str);
                    Some(german(t, &file.conditions, readme_de, &name, origin)?)
                }
                None => None,
            };
            let info = ExerciseInfo {
                id: id.clone(),
                number: i as u32 + 1,
                title: file.title,
                summary: file.summary,
                seed: file.seed,
                instructions_html: markdown(readme),
                conditions: file
                    .conditions
                    .iter()
                    .map(|c| ConditionInfo {
                        id: c.id.clone(),
                        description: c.description.clone(),
                        hint: c.hint.clone(),
                    })
                    .collect(),
                de,
            };
            exercises.push(Exercise { info, conditions: file.conditions, failure_details: file.failure_details });
        }
        Ok(Catalog { exercises })
    }

    /// The catalog with every text in `language` where a translation exists: titles,
    /// instructions, and each condition's description, failure message and hint. What the
    /// checker saw stays as it says it.
    pub fn in_language(&self, language: Language) -> Catalog {
        let mut catalog = self.clone();
        if language == Language::English {
            return catalog;
        }
        for e in &mut catalog.exercises {
            let Some(de) = e.info.de.clone() else { continue };
            (e.info.title, e.info.summary, e.info.instructions_html) = (de.title, de.summary, de.instructions_html);
            for t in de.conditions {
                if let Some(c) = e.conditions.iter_mut().find(|c| c.id == t.id) {
                    (c.description, c.failure, c.hint) = (t.description.clone(), t.failure, t.hint.clone());
                }
                if let Some(c) = e.info.conditions.iter_mut().find(|c| c.id == t.id) {
                    (c.description, c.hint) = (t.description, t.hint);
                }
            }
        }
        catalog
    }

    /// An exercise by folder name (`01-sandbox-topic`), number (`1`) or the name without
    /// its number (`sandbox-topic`).
    /// The exercises built in, or, with `dir`, the ones in that folder.
    pub fn load(dir: Option<&Path>) -> Result<Catalog, CatalogError> {
        match dir {
            Some(d) => Catalog::from_dir(d),
            None => Catalog::embedded(),
        }
    }

    pub fn find(&self, name: &str) -> Result<&Exercise, CatalogError> {
        self.exercises
            .iter()
            .find(|e| {
                e.info.id == name
                    || name.parse::<u32>().is_ok_and(|n| n == e.info.number)
                    || e.info.id.split_once('-').is_some_and(|(_, rest)| rest == name)
            })
            .ok_or_else(|| CatalogError::Unknown(name.to_owned()))
    }
}

/// The languages of the exercises: English, and German where an exercise has it (those of
/// seed 000, the course's German material).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Language {
    #[default]
    English,
    German,
}

/// An exercise's German texts: its `[de]` table (a condition it leaves out stays English)
/// and `readme`, README.de.md where there is one.
fn german(
    t: &conditions::Translation,
    conditions: &[Condition],
    readme: &str,
    file: &str,
    origin: &str,
) -> Result<ExerciseText, CatalogError> {
    if let Some(id) = t.conditions.keys().find(|id| !conditions.iter().any(|c| &c.id == *id)) {
        return Err(CatalogError::Untranslatable { file: format!("{origin}{file}"), id: id.clone() });
    }
    Ok(ExerciseText {
        title: t.title.clone(),
        summary: t.summary.clone(),
        instructions_html: markdown(readme),
        conditions: conditions
            .iter()
            .map(|c| match t.conditions.get(&c.id) {
                Some(d) => ConditionText {
                    id: c.id.clone(),
                    description: d.description.clone(),
                    failure: d.failure.clone(),
                    hint: d.hint.clone(),
                },
                None => ConditionText {
                    id: c.id.clone(),
                    description: c.description.clone(),
                    failure: c.failure.clone(),
                    hint: c.hint.clone(),
                },
            })
            .collect(),
    })
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::Parse {
        file: file.to_owned(),
        line: e.span().map_or(1, |s| text[..s.start.min(text.len())].matches('\n').count() + 1),
        message: e.message().trim().to_owned(),
    })
}

fn markdown(text: &str) -> String {
    let mut html = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH;
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(text, options));
    html
}

/// How a student's client signs in to a cluster that wants it to.
#[derive(Debug, Clone, Copy)]
pub struct SignIn<'a> {
    pub mechanism: &'a str,
    /// Her name, when the lab knows it.
    pub student: Option<&'a str>,
}

/// Instructions whose kafka-python connections (`bootstrap_servers="localhost:9092"`) are
/// made to fit a cluster whose clients sign in: its address, and kafka-python's SASL
/// settings with the student's name and, as her password, a place for her class token.
pub fn signed_in_snippets(html: &str, bootstrap: &str, sign_in: SignIn<'_>) -> String {
    let user = sign_in.student.unwrap_or("YOUR_NAME");
    let q = |s: &str| format!("\"{s}\"");
    let settings = format!(
        "bootstrap_servers={}, security_protocol={}, sasl_mechanism={}, sasl_plain_username={}, \
         sasl_plain_password={}",
        q(bootstrap),
        q("SASL_PLAINTEXT"),
        q(sign_in.mechanism),
        q(user),
        q("YOUR_CLASS_TOKEN")
    );
    // pulldown-cmark keeps a code block's quotes as they are (it escapes only &, < and >).
    html.replace("bootstrap_servers=\"localhost:9092\"", &settings)
}

/// Where a student's topics and groups are: `alice.dev_sandbox` for `alice`, so a class
/// shares one cluster without stepping on each other. No student: the names as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace(Option<String>);

impl Namespace {
    pub fn student(name: Option<&str>) -> Result<Namespace, CatalogError> {
        match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => Ok(Namespace(None)),
            Some(n) if n.len() <= 40 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {
                Ok(Namespace(Some(n.to_owned())))
            }
            Some(n) => Err(CatalogError::BadStudent(n.to_owned())),
        }
    }

    pub fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// A topic's or group's name in this namespace.
    pub fn map(&self, name: &str) -> String {
        match &self.0 {
            Some(student) => format!("{student}.{name}"),
            None => name.to_owned(),
        }
    }
}

/// Reads the roster file at `path` (see [`read_roster`]).
pub fn load_roster(path: &std::path::Path) -> Result<Vec<String>, CatalogError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CatalogError::Read(format!("cannot read the roster {}", path.display()), e))?;
    read_roster(&path.display().to_string(), &text)
}

/// Reads a roster: one student name per line; blank lines and `#` comments are skipped. A
/// name listed twice is refused: the grade book would have two rows for one namespace.
/// `file` names the roster in errors.
pub fn read_roster(file: &str, text: &str) -> Result<Vec<String>, CatalogError> {
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() {
            continue;
        }
        let error = |message: String| CatalogError::Roster { file: file.to_owned(), line: i + 1, message };
        Namespace::student(Some(name)).map_err(|e| error(e.to_string()))?;
        if let Some((_, first)) = names.iter().find(|(n, _)| n == name) {
            return Err(error(format!("{name} is listed twice (first on line {first})")));
        }
        names.push((name.to_owned(), i + 1));
    }
    Ok(names.into_iter().map(|(n, _)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_a_cluster_that_signs_in_every_python_connection_carries_the_sign_in() {
        let catalog = Catalog::embedded().unwrap();
        let sign_in = SignIn { mechanism: "SCRAM-SHA-256", student: Some("alice") };
        let mut rewritten = 0;
        for e in &catalog.exercises {
            let html = signed_in_snippets(&e.info.instructions_html, "10.0.0.5:9092", sign_in);
            assert!(!html.contains("bootstrap_servers=\"localhost:9092\""), "{} kept one", e.info.id);
            rewritten += html.matches("sasl_plain_username=\"alice\"").count();
        }
        // Exercises 1, 2, 3, 5, 7 … connect from Python: each of their connections changed.
        let before: usize = catalog
            .exercises
            .iter()
            .map(|e| e.info.instructions_html.matches("bootstrap_servers=\"localhost:9092\"").count())
            .sum();
        assert!(before >= 5, "the READMEs connect from Python {before} times");
        assert_eq!(rewritten, before);
        let one = signed_in_snippets(&catalog.exercises[0].info.instructions_html, "10.0.0.5:9092", sign_in);
        assert!(one.contains(
            "bootstrap_servers=\"10.0.0.5:9092\", security_protocol=\"SASL_PLAINTEXT\", \
             sasl_mechanism=\"SCRAM-SHA-256\""
        ));
    }

    #[test]
    fn the_built_in_exercises_parse_in_course_order() {
        let catalog = Catalog::embedded().unwrap();
        assert_eq!(catalog.exercises.len(), 15);
        for (i, e) in catalog.exercises.iter().enumerate() {
            assert_eq!(e.info.number as usize, i + 1);
            assert!(!e.conditions.is_empty(), "{} has no conditions", e.info.id);
            assert!(e.info.instructions_html.contains("<p>"), "{} has no instructions", e.info.id);
            let mut ids: Vec<&str> = e.conditions.iter().map(|c| c.id.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), e.conditions.len(), "{}: condition ids repeat", e.info.id);
        }
        assert_eq!(catalog.find("1").unwrap().info.id, "01-sandbox-topic");
        assert_eq!(catalog.find("sandbox-topic").unwrap().info.number, 1);
        assert!(matches!(catalog.find("nope"), Err(CatalogError::Unknown(_))));
    }

    #[test]
    fn every_exercise_of_seed_000_is_in_german_whole() {
        let catalog = Catalog::embedded().unwrap();
        let readmes: Vec<&str> = embedded::EXERCISE_FILES.iter().map(|(n, _)| *n).collect();
        let german: Vec<&Exercise> = catalog.exercises.iter().filter(|e| e.info.seed.starts_with("000")).collect();
        assert_eq!(german.len(), 5);
        for e in german {
            let de = e.info.de.as_ref().unwrap_or_else(|| panic!("{} has no [de]", e.info.id));
            let file = format!("{}/README.de.md", e.info.id);
            assert!(readmes.contains(&file.as_str()), "{file} is missing");
            assert_ne!(de.instructions_html, e.info.instructions_html, "{file}");
            for (c, t) in e.conditions.iter().zip(&de.conditions) {
                assert_eq!(c.id, t.id);
                assert!(
                    t.description != c.description && t.failure != c.failure && t.hint != c.hint,
                    "{}: {} is English",
                    e.info.id,
                    c.id
                );
            }
        }
        let in_german = catalog.in_language(Language::German);
        let four = in_german.find("4").unwrap();
        assert_eq!(four.info.title, "Der Generator für Mushroom-Anfragen");
        assert!(four.conditions[1].failure.starts_with("die Anfragen teilen sich ihre Schlüssel"));
        assert!(four.info.instructions_html.contains("Schlüssel"));
        assert_eq!(
            in_german.find("6").unwrap().info.title,
            catalog.find("6").unwrap().info.title,
            "no German: English"
        );
    }

    #[test]
    fn a_translation_of_no_condition_is_refused() {
        let files: BTreeMap<String, String> = [
            ("index.toml", "exercises = [\"01-x\"]"),
            (
                "01-x/exercise.toml",
                "title = \"t\"\nsummary = \"s\"\nseed = \"000\"\n[[conditions]]\nid = \"a\"\nkind = \"topic\"\ntopic = \"t\"\n\
                 description = \"d\"\nfailure = \"f\"\nhint = \"h\"\n[de]\ntitle = \"T\"\nsummary = \"S\"\n\
                 [de.conditions.b]\ndescription = \"D\"\nfailure = \"F\"\nhint = \"H\"\n",
            ),
        ]
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
        .collect();
        let e = Catalog::from_files(&files, "x/").unwrap_err().to_string();
        assert_eq!(e, "x/01-x/exercise.toml: [de.conditions.b] translates no condition of the exercise");
    }

    #[test]
    fn students_get_a_prefix_and_odd_names_are_refused() {
        assert_eq!(Namespace::student(Some("alice")).unwrap().map("dev_sandbox"), "alice.dev_sandbox");
        assert_eq!(Namespace::student(None).unwrap().map("dev_sandbox"), "dev_sandbox");
        assert_eq!(Namespace::student(Some(" ")).unwrap(), Namespace::default());
        assert!(Namespace::student(Some("a b")).is_err());
        assert!(Namespace::student(Some("../x")).is_err());
        assert_eq!(read_roster("r", "alice\n# absent today\n\nbob # late\n").unwrap(), ["alice", "bob"]);
        assert_eq!(
            read_roster("class.txt", "alice\nbob\nalice smith\n").unwrap_err().to_string(),
            "class.txt, line 3: student names are letters, digits, `-` and `_` (at most 40), got `alice smith`"
        );
        assert_eq!(
            read_roster("class.txt", "alice\n\nbob\nalice # again\n").unwrap_err().to_string(),
            "class.txt, line 4: alice is listed twice (first on line 1)"
        );
    }

    #[test]
    fn a_broken_exercise_file_is_named_with_its_line() {
        let mut files = BTreeMap::new();
        files.insert("index.toml".to_owned(), "exercises = [\"01-x\"]\n".to_owned());
        files.insert("01-x/exercise.toml".to_owned(), "title = \"x\"\nsummary = \"y\"\nseed = [\n".to_owned());
        let e = Catalog::from_files(&files, "course/").unwrap_err().to_string();
        assert!(e.starts_with("course/01-x/exercise.toml, line 3: "), "{e}");
        let condition = "title = \"x\"\nsummary = \"y\"\nseed = \"z\"\n\n[[conditions]]\nid = \"a\"\ndescription = \"d\"\nfailure = \"f\"\nhint = \"h\"\nkind = \"topik\"\n";
        files.insert("01-x/exercise.toml".to_owned(), condition.to_owned());
        let e = Catalog::from_files(&files, "course/").unwrap_err().to_string();
        assert!(e.starts_with("course/01-x/exercise.toml, line ") && e.contains("topik"), "{e}");
        let complete = format!("failure_details = \"some\"\n{}topic = \"t\"\n", condition.replace("topik", "topic"));
        files.insert("01-x/exercise.toml".to_owned(), complete.clone());
        let e = Catalog::from_files(&files, "").unwrap_err().to_string();
        assert!(e.starts_with("01-x/exercise.toml, line 1: ") && e.contains("actual-only"), "{e}");
        files.insert("01-x/exercise.toml".to_owned(), complete.replace("some", "actual-only"));
        let catalog = Catalog::from_files(&files, "").unwrap();
        assert_eq!(catalog.exercises[0].failure_details, Some(FailureDetails::ActualOnly));
    }

    #[test]
    fn a_folder_reads_like_the_built_in_exercises() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../exercises");
        let from_dir = Catalog::from_dir(&dir).unwrap();
        let embedded = Catalog::embedded().unwrap();
        assert_eq!(
            from_dir.exercises.iter().map(|e| &e.info).collect::<Vec<_>>(),
            embedded.exercises.iter().map(|e| &e.info).collect::<Vec<_>>()
        );
    }
}
