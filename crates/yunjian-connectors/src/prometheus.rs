//! Prometheus HTTP API answers (`/api/v1/query`, `/api/v1/query_range`) as utilization
//! samples: one series per label set, values as numbers (Prometheus sends them as
//! strings, with `NaN` and `±Inf` spelled out). A series that cannot be read is a
//! problem of its own; an error answer or a body that is not the API's is one problem.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::Problem;

/// One series: its labels and its (unix seconds, value) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(f64, f64)>,
}

/// What one answer gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples {
    pub series: Vec<Series>,
    pub problems: Vec<Problem>,
}

const SOURCE: &str = "prometheus query";

fn problem(index: Option<usize>, reason: impl Into<String>) -> Problem {
    Problem {
        source: SOURCE,
        index,
        external_id: None,
        reason: reason.into(),
    }
}

/// A `[time, "value"]` pair.
fn point(pair: &Json) -> Result<(f64, f64), String> {
    let time = pair
        .get(0)
        .and_then(Json::as_f64)
        .ok_or("a point without a time")?;
    let text = pair
        .get(1)
        .and_then(Json::as_str)
        .ok_or("a point without a value string")?;
    let value = match text {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse::<f64>()
            .map_err(|_| format!("the value {other:?} is not a number"))?,
    };
    Ok((time, value))
}

pub fn parse_query(body: &[u8]) -> Samples {
    let mut samples = Samples::default();
    let body: Json = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(error) => {
            samples
                .problems
                .push(problem(None, format!("not valid JSON: {error}")));
            return samples;
        }
    };
    if body["status"] != "success" {
        samples.problems.push(problem(
            None,
            format!(
                "the query failed: {} {}",
                body["errorType"].as_str().unwrap_or("unknown"),
                body["error"].as_str().unwrap_or("")
            ),
        ));
        return samples;
    }
    let data = &body["data"];
    let kind = data["resultType"].as_str().unwrap_or("");
    match kind {
        "vector" | "matrix" => {}
        "scalar" => {
            match point(&data["result"]) {
                Ok(point) => samples.series.push(Series {
                    labels: BTreeMap::new(),
                    points: vec![point],
                }),
                Err(reason) => samples.problems.push(problem(None, reason)),
            }
            return samples;
        }
        other => {
            samples
                .problems
                .push(problem(None, format!("unknown result type {other:?}")));
            return samples;
        }
    }
    let Some(results) = data["result"].as_array() else {
        samples.problems.push(problem(None, "no result list"));
        return samples;
    };
    for (index, result) in results.iter().enumerate() {
        let labels: BTreeMap<String, String> = result["metric"]
            .as_object()
            .map(|metric| {
                metric
                    .iter()
                    .filter_map(|(key, value)| {
                        value.as_str().map(|value| (key.clone(), value.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let points: Result<Vec<(f64, f64)>, String> = if kind == "vector" {
            point(&result["value"]).map(|point| vec![point])
        } else {
            result["values"]
                .as_array()
                .ok_or_else(|| "a matrix series without values".to_owned())
                .and_then(|values| values.iter().map(point).collect())
        };
        match points {
            Ok(points) => samples.series.push(Series { labels, points }),
            Err(reason) => samples.problems.push(problem(Some(index), reason)),
        }
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes as documented for the Prometheus HTTP API (prometheus.io/docs, "HTTP API",
    // expression query result formats).
    const VECTOR: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
        {"metric":{"__name__":"node_cpu_utilisation","instance":"host-a:9100"},"value":[1700000000.781,"0.42"]},
        {"metric":{"instance":"host-b:9100"},"value":[1700000000.781,"NaN"]},
        {"metric":{"instance":"host-c:9100"},"value":[1700000000.781,"lots"]}
    ]}}"#;

    const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
        {"metric":{"instance":"host-a:9100"},"values":[[1700000000,"1"],[1700000060,"+Inf"]]}
    ]}}"#;

    #[test]
    fn vectors_and_matrices_read_per_series() {
        let samples = parse_query(VECTOR.as_bytes());
        assert_eq!(samples.series.len(), 2);
        assert_eq!(samples.series[0].labels["instance"], "host-a:9100");
        assert_eq!(samples.series[0].points, vec![(1_700_000_000.781, 0.42)]);
        assert!(samples.series[1].points[0].1.is_nan());
        assert_eq!(samples.problems.len(), 1);
        assert_eq!(samples.problems[0].index, Some(2));
        let samples = parse_query(MATRIX.as_bytes());
        assert_eq!(samples.series[0].points[1].1, f64::INFINITY);
    }

    #[test]
    fn errors_and_garbage_are_one_problem() {
        let failed =
            br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
        let samples = parse_query(failed);
        assert!(samples.series.is_empty());
        assert!(samples.problems[0].reason.contains("bad_data"));
        for garbage in [
            &b""[..],
            b"<html>",
            br#"{"status":"success","data":{"resultType":"streams"}}"#,
        ] {
            let samples = parse_query(garbage);
            assert_eq!(samples.problems.len(), 1, "{garbage:?}");
        }
    }
}
