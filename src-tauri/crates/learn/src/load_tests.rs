use super::*;

#[test]
fn every_built_in_lesson_passes_its_checks() {
    for (name, text) in BUILT_IN {
        if let Err(problems) = parse(text) {
            let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!("{name}: {}", listed.join("\n"));
        }
    }
    let catalog = Catalog::load(None);
    assert!(catalog.rejected.is_empty());
    assert_eq!(catalog.lessons.len(), BUILT_IN.len());
}

const SMALL: &str = r#"format = 1
id = "small"
title = { en = "Small" }
summary = { en = "A small lesson" }

[[actors]]
id = "dashboard"

[[steps]]
title = { en = "One" }
text = { en = "Read this." }
task = { en = "Do that." }

[[steps.checks]]
packet = "PUBLISH"
to = "dashbord"
says = { en = "It arrived" }
"#;

#[test]
fn a_wrong_actor_name_is_reported_with_its_line_and_field() {
    let problems = parse(SMALL).expect_err("the actor does not exist");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, Some(16));
    assert_eq!(problems[0].field, "steps[0].checks[0].to");
    assert!(problems[0].message.contains("dashbord"), "{}", problems[0]);
    assert!(problems[0]
        .to_string()
        .starts_with("line 16, steps[0].checks[0].to:"));
}

#[test]
fn a_type_error_names_its_line_and_field() {
    let text = SMALL.replace("to = \"dashbord\"", "qos = \"high\"");
    let problems = parse(&text).expect_err("qos is a number");
    assert_eq!(problems[0].line, Some(16), "{problems:?}");
    assert!(problems[0].field.contains("qos"), "{problems:?}");
}

#[test]
fn an_unknown_field_and_broken_toml_are_refused_with_a_line() {
    let text = SMALL.replace("to = \"dashbord\"", "too = \"dashboard\"");
    let problems = parse(&text).expect_err("unknown field");
    assert_eq!(problems[0].line, Some(16), "{problems:?}");
    assert!(problems[0].message.contains("too"), "{problems:?}");
    let text = SMALL.replace("[[steps.checks]]", "[[steps.checks]");
    let problems = parse(&text).expect_err("broken TOML");
    assert_eq!(problems[0].line, Some(14), "{problems:?}");
}

#[test]
fn semantic_problems_are_all_listed_in_file_order() {
    let text = SMALL
        .replace(
            "to = \"dashbord\"",
            "to = \"dashboard\"\nmatching = \"a/#/b\"",
        )
        .replace("format = 1", "format = 2");
    let problems = parse(&text).expect_err("two problems");
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["format", "steps[0].checks[0].matching"]);
    assert_eq!(problems[1].line, Some(17));
}

#[test]
fn the_lessons_folder_adds_lessons_and_lists_broken_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lessons = dir.path().join(LESSONS_FOLDER);
    std::fs::create_dir_all(&lessons).expect("folder");
    std::fs::write(
        lessons.join("good.toml"),
        SMALL.replace("\"dashbord\"", "\"dashboard\""),
    )
    .expect("write");
    std::fs::write(lessons.join("broken.toml"), SMALL).expect("write");
    std::fs::write(
        lessons.join("twin.toml"),
        SMALL
            .replace("\"dashbord\"", "\"dashboard\"")
            .replace("id = \"small\"", "id = \"qos\""),
    )
    .expect("write");
    std::fs::write(lessons.join("notes.txt"), "not a lesson").expect("write");
    let catalog = Catalog::load(Some(dir.path()));
    assert!(catalog
        .get("small")
        .is_some_and(|l| l.origin != Origin::BuiltIn));
    let rejected: Vec<&str> = catalog.rejected.iter().map(|r| r.file.as_str()).collect();
    assert_eq!(rejected, ["broken.toml", "twin.toml"]);
    assert_eq!(catalog.rejected[0].problems[0].line, Some(16));
    assert_eq!(catalog.rejected[1].problems[0].field, "id");
}

#[test]
fn the_documented_example_is_a_valid_lesson() {
    let doc = include_str!("../../../../docs/lessons.md");
    let start = doc
        .find("```toml\n# kitchen.toml")
        .expect("the complete example in docs/lessons.md")
        + "```toml\n".len();
    let end = start + doc[start..].find("```").expect("the example's end");
    let file = parse(&doc[start..end]).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(file.id, "kitchen-not-hall");
    assert_eq!(file.steps[0].checks.len(), 2);
}

const AMQP: &str = r#"format = 1
id = "amqp"
title = { en = "A" }
summary = { en = "A" }

[[actors]]
id = "worker"
kind = "amqp"
consume = { ack = "auto", prefetch = 1 }

[[actors]]
id = "sensor"
declare = [{ queue = "q" }]

[[steps]]
title = { en = "One" }
text = { en = "Read." }
task = { en = "Do." }

[[steps.checks]]
packet = "SUBSCRIBE"
from = "worker"
says = { en = "x" }
"#;

#[test]
fn amqp_actors_are_checked_with_line_and_field() {
    let problems = parse(AMQP).expect_err("four problems");
    let seen: Vec<(Option<usize>, &str)> = problems
        .iter()
        .map(|p| (p.line, p.field.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Some(9), "actors[0].consume"),
            (Some(9), "actors[0].consume.prefetch"),
            (Some(13), "actors[1].declare"),
            (Some(21), "steps[0].checks[0].packet"),
        ],
        "{problems:#?}"
    );
    assert!(problems[0].message.contains("queue = \"\""), "{problems:?}");
    assert!(problems[1].message.contains("manual"), "{problems:?}");
    assert!(
        problems[2].message.contains("kind = \"amqp\""),
        "{problems:?}"
    );
    assert!(problems[3].message.contains("PUBACK"), "{problems:?}");
    let mqtt_on_amqp = AMQP
        .replace(
            "consume = { ack = \"auto\", prefetch = 1 }",
            "subscribe = [{ filter = \"a\" }]",
        )
        .replace("declare = [{ queue = \"q\" }]", "")
        .replace("SUBSCRIBE", "PUBLISH");
    let problems = parse(&mqtt_on_amqp).expect_err("subscribe is MQTT's");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field, "actors[0].subscribe");
}
