//! CloudWatch alarms evaluated offline (docs/contract.md §7): every alarm of
//! `template.yaml` read as CloudWatch reads it (metric or metric math, statistic, period,
//! threshold, evaluation periods, datapoints to alarm, missing data) and evaluated over
//! datapoints: the EMF lines the functions print, and, for AWS's own metrics, what AWS
//! publishes in the scenario. Dimension values are the template's own names
//! (`WebhookFunction`, `WebhookFunction.Version.Version`): the lines' values are set to
//! them.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use serde_yaml_ng::Value;

use super::template::{pairs, text};

#[derive(Debug, Clone)]
struct Datapoint {
    at_ms: i64,
    dimensions: BTreeMap<String, String>,
    value: f64,
}

/// Every datapoint of a scenario, by namespace and metric name.
#[derive(Debug, Clone, Default)]
pub struct Metrics(BTreeMap<(String, String), Vec<Datapoint>>);

impl Metrics {
    /// The metrics of an EMF line, at its timestamp, as `function` (a logical id) and, when
    /// given, `version` (`WebhookFunction.Version.Version` for the canary's new version).
    pub fn emf(&mut self, line: &str, function: &str, version: Option<&str>) {
        let mut line: Json = serde_json::from_str(line).expect("an EMF line is JSON");
        line["FunctionName"] = Json::from(function);
        line["ExecutedVersion"] = Json::from(version.unwrap_or("the running version"));
        let at_ms = line["_aws"]["Timestamp"].as_i64().expect("a timestamp");
        for directive in line["_aws"]["CloudWatchMetrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let namespace = directive["Namespace"].as_str().unwrap_or_default();
            for set in directive["Dimensions"].as_array().into_iter().flatten() {
                let dimensions: BTreeMap<String, String> = set
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.as_str())
                    .map(|d| {
                        (
                            d.to_owned(),
                            line[d].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                for metric in directive["Metrics"].as_array().into_iter().flatten() {
                    let name = metric["Name"].as_str().unwrap_or_default();
                    let Some(value) = line[name].as_f64() else {
                        continue;
                    };
                    let key = (namespace.to_owned(), name.to_owned());
                    self.0.entry(key).or_default().push(Datapoint {
                        at_ms,
                        dimensions: dimensions.clone(),
                        value,
                    });
                }
            }
        }
    }

    /// A datapoint AWS publishes (Lambda, API Gateway, SQS, a log metric filter).
    pub fn aws(
        &mut self,
        at_ms: i64,
        namespace: &str,
        name: &str,
        dims: &[(&str, &str)],
        value: f64,
    ) {
        let key = (namespace.to_owned(), name.to_owned());
        self.0.entry(key).or_default().push(Datapoint {
            at_ms,
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        });
    }

    fn statistic(&self, metric: &MetricSpec, from_ms: i64, to_ms: i64) -> Option<f64> {
        let key = (metric.namespace.clone(), metric.name.clone());
        let values: Vec<f64> = self
            .0
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|d| d.at_ms >= from_ms && d.at_ms < to_ms)
            .filter(|d| d.dimensions == metric.dimensions)
            .map(|d| d.value)
            .collect();
        if values.is_empty() {
            return None;
        }
        Some(match metric.stat.as_str() {
            "Sum" => values.iter().sum(),
            "Maximum" => values.iter().cloned().fold(f64::MIN, f64::max),
            "Minimum" => values.iter().cloned().fold(f64::MAX, f64::min),
            "Average" => values.iter().sum::<f64>() / values.len() as f64,
            "SampleCount" => values.len() as f64,
            other => panic!("statistic {other} is not evaluated here"),
        })
    }
}

#[derive(Debug, Clone)]
struct MetricSpec {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, String>,
    stat: String,
    period_s: i64,
}

impl MetricSpec {
    fn of(metric: &Value, stat: &Value, period: &Value) -> Self {
        Self {
            namespace: text(&metric["Namespace"]),
            name: text(&metric["MetricName"]),
            dimensions: match metric["Dimensions"].is_null() {
                true => BTreeMap::new(),
                false => pairs(&metric["Dimensions"], "Name", "Value"),
            },
            stat: text(stat),
            period_s: text(period).parse().expect("a period"),
        }
    }
}

/// What an alarm's evaluation ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Alarm,
}

/// The value of a parameter reference, or the number written.
fn number(template: &Value, value: &Value) -> f64 {
    let written = text(value);
    written.parse().unwrap_or_else(|_| {
        let default = &template["Parameters"][written.as_str()]["Default"];
        text(default)
            .parse()
            .unwrap_or_else(|_| panic!("{written} is neither a number nor a parameter with one"))
    })
}

/// The alarm's state at `now_ms`, over `metrics`.
pub fn evaluate(template: &Value, alarm: &str, metrics: &Metrics, now_ms: i64) -> State {
    let def = &template["Resources"][alarm]["Properties"];
    assert!(!def.is_null(), "no alarm {alarm}");
    let periods = number(template, &def["EvaluationPeriods"]) as i64;
    let to_alarm = match def["DatapointsToAlarm"].is_null() {
        true => periods,
        false => number(template, &def["DatapointsToAlarm"]) as i64,
    };
    let threshold = number(template, &def["Threshold"]);
    let breaching_when_missing = match def["TreatMissingData"].as_str().unwrap_or("missing") {
        "breaching" => Some(true),
        "notBreaching" => Some(false),
        _ => None,
    };
    type ValueOf<'m> = Box<dyn Fn(i64, i64) -> Option<f64> + 'm>;
    let (period_s, value_of): (i64, ValueOf) = match def["MetricName"].is_null() {
        false => {
            let spec = MetricSpec::of(def, &def["Statistic"], &def["Period"]);
            let period = spec.period_s;
            (
                period,
                Box::new(move |from, to| metrics.statistic(&spec, from, to)),
            )
        }
        true => {
            let mut specs = BTreeMap::new();
            let mut expression = None;
            for m in def["Metrics"].as_sequence().expect("Metrics") {
                let id = text(&m["Id"]);
                if !m["MetricStat"].is_null() {
                    let stat = &m["MetricStat"];
                    specs.insert(
                        id.clone(),
                        MetricSpec::of(&stat["Metric"], &stat["Stat"], &stat["Period"]),
                    );
                }
                if m["ReturnData"].as_bool() == Some(true) {
                    expression = Some(text(&m["Expression"]));
                }
            }
            let expression = expression.expect("a returned expression");
            let period = specs.values().next().expect("a metric").period_s;
            (
                period,
                Box::new(move |from, to| {
                    let values: BTreeMap<String, Option<f64>> = specs
                        .iter()
                        .map(|(id, spec)| (id.clone(), metrics.statistic(spec, from, to)))
                        .collect();
                    Expr::new(&expression, &values).parse()
                }),
            )
        }
    };
    let period_ms = period_s * 1000;
    let breaches = |value: f64| match text(&def["ComparisonOperator"]).as_str() {
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "GreaterThanThreshold" => value > threshold,
        "LessThanThreshold" => value < threshold,
        "LessThanOrEqualToThreshold" => value <= threshold,
        other => panic!("operator {other}"),
    };
    let mut breaching = 0;
    for k in (1..=periods).rev() {
        let from = now_ms - k * period_ms;
        let breached = match value_of(from, from + period_ms) {
            Some(value) => Some(breaches(value)),
            None => breaching_when_missing,
        };
        breaching += i64::from(breached == Some(true));
    }
    match breaching >= to_alarm {
        true => State::Alarm,
        false => State::Ok,
    }
}

/// CloudWatch metric math, as far as the template uses it: numbers, metric ids, `+ - * /`,
/// comparisons, `FILL(m, v)` and `IF(c, a, b)`. A missing value propagates.
struct Expr<'a> {
    tokens: Vec<String>,
    at: usize,
    values: &'a BTreeMap<String, Option<f64>>,
}

impl<'a> Expr<'a> {
    fn new(text: &str, values: &'a BTreeMap<String, Option<f64>>) -> Self {
        let mut tokens = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c.is_alphanumeric() || c == '_' || c == '.' {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                tokens.push(chars[start..i].iter().collect());
            } else if (c == '>' || c == '<') && chars.get(i + 1) == Some(&'=') {
                tokens.push(format!("{c}="));
                i += 2;
            } else {
                tokens.push(c.to_string());
                i += 1;
            }
        }
        Self {
            tokens,
            at: 0,
            values,
        }
    }

    fn next(&mut self) -> String {
        self.at += 1;
        self.tokens.get(self.at - 1).cloned().unwrap_or_default()
    }

    fn peek(&self) -> &str {
        self.tokens.get(self.at).map_or("", String::as_str)
    }

    fn parse(mut self) -> Option<f64> {
        let value = self.comparison();
        assert_eq!(
            self.at,
            self.tokens.len(),
            "unparsed: {:?}",
            &self.tokens[self.at..]
        );
        value
    }

    fn comparison(&mut self) -> Option<f64> {
        let left = self.sum();
        let op = self.peek().to_owned();
        if [">=", "<=", ">", "<"].contains(&op.as_str()) {
            self.next();
            let right = self.sum();
            let (l, r) = (left?, right?);
            let holds = match op.as_str() {
                ">=" => l >= r,
                "<=" => l <= r,
                ">" => l > r,
                _ => l < r,
            };
            return Some(f64::from(u8::from(holds)));
        }
        left
    }

    fn sum(&mut self) -> Option<f64> {
        let mut value = self.product();
        while matches!(self.peek(), "+" | "-") {
            let op = self.next();
            let right = self.product();
            value = match (value, right) {
                (Some(l), Some(r)) if op == "+" => Some(l + r),
                (Some(l), Some(r)) => Some(l - r),
                _ => None,
            };
        }
        value
    }

    fn product(&mut self) -> Option<f64> {
        let mut value = self.atom();
        while matches!(self.peek(), "*" | "/") {
            let op = self.next();
            let right = self.atom();
            value = match (value, right) {
                (Some(l), Some(r)) if op == "*" => Some(l * r),
                (Some(_), Some(0.0)) => None,
                (Some(l), Some(r)) => Some(l / r),
                _ => None,
            };
        }
        value
    }

    fn arguments(&mut self) -> Vec<Option<f64>> {
        assert_eq!(self.next(), "(");
        let mut args = vec![self.comparison()];
        while self.peek() == "," {
            self.next();
            args.push(self.comparison());
        }
        assert_eq!(self.next(), ")");
        args
    }

    fn atom(&mut self) -> Option<f64> {
        let token = self.next();
        match token.as_str() {
            "(" => {
                let value = self.comparison();
                assert_eq!(self.next(), ")");
                value
            }
            "FILL" => {
                let args = self.arguments();
                args[0].or(args[1])
            }
            "IF" => {
                let args = self.arguments();
                match args[0]? != 0.0 {
                    true => args[1],
                    false => args[2],
                }
            }
            number if number.parse::<f64>().is_ok() => number.parse().ok(),
            id => *self
                .values
                .get(id)
                .unwrap_or_else(|| panic!("{id} is not a metric of the alarm")),
        }
    }
}
