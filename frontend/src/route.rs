//! Which page the URL's hash names (`#/topics`), so a reload or a bookmark returns to the
//! same page without a router library.

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Overview,
    Topics,
    Topic(String),
    Rates,
    Groups,
    Connectors,
    Schemas,
    Inference,
    Exercises,
    Exercise(String),
    Classroom,
}

/// The navigation bar: each section's address and name.
pub const PAGES: [(&str, &str); 9] = [
    ("#/", "Overview"),
    ("#/topics", "Topics"),
    ("#/rates", "Production rate"),
    ("#/groups", "Consumer groups"),
    ("#/connectors", "Connectors"),
    ("#/schemas", "Schema Registry"),
    ("#/inference", "Inference"),
    ("#/exercises", "Exercises"),
    ("#/classroom", "Classroom"),
];

impl Route {
    pub fn from_hash(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        match path.split_once('/') {
            Some(("topic", name)) if !name.is_empty() => Route::Topic(name.to_owned()),
            Some(("exercise", id)) if !id.is_empty() => Route::Exercise(id.to_owned()),
            _ => match path {
                "topics" => Route::Topics,
                "rates" => Route::Rates,
                "groups" => Route::Groups,
                "connectors" => Route::Connectors,
                "schemas" => Route::Schemas,
                "inference" => Route::Inference,
                "exercises" => Route::Exercises,
                "classroom" => Route::Classroom,
                _ => Route::Overview,
            },
        }
    }

    /// The page the browser's address names now.
    pub fn current() -> Route {
        Route::from_hash(&web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default())
    }

    /// The navigation entry this page belongs to (one topic belongs to Topics).
    pub fn section(&self) -> &'static str {
        match self {
            Route::Overview => "#/",
            Route::Topics | Route::Topic(_) => "#/topics",
            Route::Rates => "#/rates",
            Route::Groups => "#/groups",
            Route::Connectors => "#/connectors",
            Route::Schemas => "#/schemas",
            Route::Inference => "#/inference",
            Route::Exercises | Route::Exercise(_) => "#/exercises",
            Route::Classroom => "#/classroom",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_name_pages() {
        assert_eq!(Route::from_hash(""), Route::Overview);
        assert_eq!(Route::from_hash("#/topics"), Route::Topics);
        assert_eq!(Route::from_hash("#/topic/dev_sandbox"), Route::Topic("dev_sandbox".into()));
        assert_eq!(Route::from_hash("#/nowhere"), Route::Overview);
        assert_eq!(Route::from_hash("#/exercise/01-sandbox-topic"), Route::Exercise("01-sandbox-topic".into()));
        assert_eq!(Route::from_hash("#/classroom"), Route::Classroom);
        assert_eq!(Route::from_hash("#/connectors"), Route::Connectors);
        assert_eq!(Route::from_hash("#/schemas"), Route::Schemas);
    }

    #[test]
    fn every_page_belongs_to_a_navigation_entry() {
        for hash in ["#/", "#/topics", "#/topic/t", "#/rates", "#/groups", "#/inference", "#/exercise/x", "#/classroom"]
        {
            let section = Route::from_hash(hash).section();
            assert!(PAGES.iter().any(|(href, _)| *href == section), "{hash} → {section}");
        }
        assert_eq!(Route::Topic("t".into()).section(), "#/topics");
    }
}
