//! serde + serde_derive (a proc-macro) + serde_json: a value survives a JSON
//! round trip, and the printed text and checksum pin down every byte.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Circle { radius: f64 },
    Polygon(Vec<(i32, i32)>),
    Empty,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Drawing {
    title: String,
    #[serde(rename = "layer-count")]
    layers: u8,
    shapes: Vec<Shape>,
    tags: BTreeMap<String, Option<i64>>,
}

fn drawing() -> Drawing {
    let mut tags = BTreeMap::new();
    tags.insert("owner".to_string(), Some(-42));
    tags.insert("unset".to_string(), None);
    Drawing {
        title: "corpus \"round\" trip \u{e9}".to_string(),
        layers: 3,
        shapes: vec![
            Shape::Circle { radius: 1.5 },
            Shape::Polygon(vec![(0, 0), (4, 0), (4, 3)]),
            Shape::Empty,
        ],
        tags,
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3))
}

fn main() {
    let original = drawing();
    let text = serde_json::to_string(&original).expect("serialize");
    let back: Drawing = serde_json::from_str(&text).expect("deserialize");
    assert_eq!(back, original, "round trip changed the value");
    let pretty = serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap();
    println!("{text}");
    println!("{pretty}");
    println!("fnv1a = {:016x}", fnv1a(text.as_bytes()));
}
