//! The paper's claims as commands (`sngan paper fig9|robustness|spectra|cost|table2`): each
//! trains or reuses runs, measures, and writes a CSV and a markdown table and a PNG plot into
//! its output folder, with the paper's numbers beside the measured ones.
//!
//! | command | claim | writes |
//! | --- | --- | --- |
//! | [`fig9`] | σ(W̄) stays in 1.00–1.05 for most layers during training (Fig. 9, App. C.1) | `fig9_sigma.csv`, `fig9_sigma.md`, `fig9_sigma.png` |
//! | [`robustness`] | SN keeps its score across Table 1's settings A–F; others fail at D–F (Figs. 1–2) | `cells/*.json`, `robustness.csv`, `robustness.md`, `robustness_is.png`, `robustness_fid.png` |
//! | [`spectra`] | SN keeps a broad singular-value spectrum in every D layer (Fig. 3) | `spectra.csv`, `spectra.md`, `spectra_LAYER.png` |
//! | [`cost`] | SN costs ≈ 10% over vanilla, WGAN-GP ≈ 30% over SN (Fig. 10) | `cost.csv`, `cost.md`, `cost.png` |
//! | [`table2`] | one row of Table 2 (IS, FID on CIFAR-10 / STL-10) | `table2/ROW.json`, `table2.csv`, `table2.md` |
//!
//! Small scale (the default) is the embedded 16×16 digits at ¼ width on the CPU, scored with
//! the digits IS / FID of [`crate::metrics::digits`]; `--full` is the paper's scale (CIFAR-10,
//! full width, 100K updates, Inception IS / FID) and wants a GPU. Runs live in
//! `OUT/runs/METHOD-SETTING`, so the commands given one `--out` share them, and every command
//! picks up where an interrupted one stopped: finished runs and cells are not redone.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::baselines::Method;
use crate::config::{
    Arch, Dataset, DatasetKind, DeviceKind, LossName, Overrides, RunConfig, Width,
};
use crate::metrics::digits::{DigitsMetric, CLASSIFIER_FILE};
use crate::metrics::eval::{evaluate, EvalRequest, MetricsReport, Reference};
use crate::plot::{bar_plot, line_plot, BarSeries, Series};
use crate::run::{self, RunOptions};
use crate::settings::Setting;
use crate::Error;

// ---------------------------------------------------------------------------------------------
// Tables.

/// A table written both as CSV and as markdown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names and no rows.
    pub fn new<S: ToString>(header: &[S]) -> Self {
        Table {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    ///
    /// # Panics
    /// If the row's length differs from the header's (a bug in the caller).
    pub fn push<S: ToString>(&mut self, row: &[S]) {
        assert_eq!(row.len(), self.header.len(), "row length");
        self.rows.push(row.iter().map(|s| s.to_string()).collect());
    }

    /// RFC 4180 CSV: fields holding a comma, quote or line break are quoted, quotes doubled.
    pub fn to_csv(&self) -> String {
        let field = |f: &String| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        };
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            out += &row.iter().map(field).collect::<Vec<_>>().join(",");
            out.push('\n');
        }
        out
    }

    /// A GitHub markdown table; `|` in a cell is escaped and line breaks become spaces.
    pub fn to_markdown(&self) -> String {
        let cell = |f: &String| f.replace('|', "\\|").replace(['\n', '\r'], " ");
        let line = |row: &Vec<String>| {
            format!(
                "| {} |\n",
                row.iter().map(cell).collect::<Vec<_>>().join(" | ")
            )
        };
        let mut out = line(&self.header);
        out += &format!("|{}\n", " --- |".repeat(self.header.len()));
        for row in &self.rows {
            out += &line(row);
        }
        out
    }
}

/// Writes `text` to `dir/name` atomically; returns the path.
fn write_text(dir: &Path, name: &str, text: &str) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    crate::checkpoint::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

fn write_png(dir: &Path, name: &str, canvas: &crate::plot::Canvas) -> Result<PathBuf, Error> {
    let path = dir.join(name);
    crate::checkpoint::write_atomic(&path, &canvas.to_png()?)?;
    Ok(path)
}

fn create_dir(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::Io(format!("create {}: {e}", dir.display())))
}

/// What a command wrote and its summary (the markdown it wrote, with the claims).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The files written.
    pub files: Vec<PathBuf>,
    /// The summary printed by the command.
    pub text: String,
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "–".into(), |v| format!("{v:.decimals$}"))
}

// ---------------------------------------------------------------------------------------------
// Runs.

/// Scale and place of the runs a command trains.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    /// `false`: the embedded digits at ¼ width (CPU minutes). `true`: the paper's CIFAR-10
    /// standard CNN at full width, which needs `data_dir`.
    pub full: bool,
    /// CIFAR-10's `cifar-10-batches-bin` at full scale.
    pub data_dir: Option<PathBuf>,
    /// Generator updates per run [default: 100,000 at full scale, the command's at small].
    pub steps: Option<usize>,
    /// Device and progress output.
    pub opts: RunOptions,
}

impl Scale {
    /// The options of one run of a sweep: these, without the per-run progress bar (the sweep
    /// prints its own lines).
    fn sweep_opts(&self) -> RunOptions {
        RunOptions {
            progress: false,
            ..self.opts
        }
    }

    /// The run configuration of `method` at `setting` at this scale, with `steps` updates.
    ///
    /// # Errors
    /// [`Error::Config`] at full scale without a data directory.
    pub fn config(
        &self,
        method: Method,
        setting: Setting,
        steps: usize,
    ) -> Result<RunConfig, Error> {
        let dataset = if self.full {
            let dir = self.data_dir.clone().ok_or_else(|| {
                Error::Config(
                    "--full trains on CIFAR-10: pass --data-dir DIR (cifar-10-batches-bin)".into(),
                )
            })?;
            Dataset::Cifar10 { dir }
        } else {
            Dataset::Digits
        };
        let mut c = RunConfig::for_dataset(dataset);
        c.apply(&Overrides {
            setting: Some(setting),
            steps: Some(steps),
            checkpoint_every: Some(steps.min(if self.full { 5_000 } else { 400 })),
            sample_every: Some(steps.min(if self.full { 1_000 } else { 100 })),
            sigma_every: Some((steps / 50).max(1)),
            keep_last: Some(1),
            ..Default::default()
        });
        set_method(&mut c, method);
        Ok(c)
    }
}

/// Sets the method of `c` and its objective (WGAN-GP: the Wasserstein loss).
fn set_method(c: &mut RunConfig, method: Method) {
    c.method = method;
    c.loss = method.default_loss();
}

/// Trains `config` in `run_dir`, or continues the run already there to `config.steps`.
fn train_or_resume(
    config: &RunConfig,
    run_dir: &Path,
    opts: RunOptions,
) -> Result<run::TrainSummary, Error> {
    if RunConfig::path(run_dir).exists() {
        run::resume(run_dir, Some(config.steps), opts)
    } else {
        run::train(config, run_dir, opts)
    }
}

/// The run directory of `method` at `setting` under `out`.
pub fn run_dir(out: &Path, method: Method, setting: Setting) -> PathBuf {
    out.join("runs")
        .join(format!("{}-{setting}", method.name()))
}

// ---------------------------------------------------------------------------------------------
// Fig. 9.

/// What [`fig9`] does.
#[derive(Clone, Debug, PartialEq)]
pub struct Fig9Request {
    /// Output folder.
    pub out: PathBuf,
    /// Use this run instead of training `OUT/runs/fig9-METHOD-C`.
    pub run: Option<PathBuf>,
    /// The method trained (the paper's Fig. 9: SN).
    pub method: Method,
    /// Scale, steps [default: 1,200 at small scale], device.
    pub scale: Scale,
}

/// Fig. 9: σ(W̄) of every D layer over training (setting C, as the paper), from the exact σ
/// that training logs to `metrics.jsonl`; writes `fig9_sigma.csv` (step, one column per
/// layer), `fig9_sigma.md` (per layer: first, max, last σ and the fraction of logged steps in
/// [1.00, 1.05]) and `fig9_sigma.png`.
///
/// # Errors
/// Training's errors; [`Error::Data`] if the run has no metrics.
pub fn fig9(req: &Fig9Request) -> Result<Report, Error> {
    create_dir(&req.out)?;
    let dir = match &req.run {
        Some(dir) => {
            if let Some(steps) = req.scale.steps {
                run::resume(dir, Some(steps), req.scale.opts)?;
            }
            dir.clone()
        }
        None => {
            let steps = req
                .scale
                .steps
                .unwrap_or(if req.scale.full { 100_000 } else { 1_200 });
            let mut config = req.scale.config(req.method, Setting::C, steps)?;
            config.sigma_every = if req.scale.full { 100 } else { 10 };
            // Its own run: σ is logged every 10 steps, and a sweep's run of the same method
            // and setting has other steps.
            let dir = req
                .out
                .join("runs")
                .join(format!("fig9-{}-C", req.method.name()));
            train_or_resume(&config, &dir, req.scale.opts)?;
            dir
        }
    };
    let config = RunConfig::load(&dir)?;
    let lines = run::read_metrics(&dir)?;
    if lines.is_empty() {
        return Err(Error::Data(format!(
            "{}: no metrics lines",
            run::metrics_path(&dir).display()
        )));
    }
    let names = config.layer_names();
    let n_layers = lines.iter().map(|l| l.sigma.len()).max().unwrap_or(0);
    let name = |i: usize| {
        names
            .get(i)
            .map_or_else(|| format!("layer{i}"), |n| n.to_string())
    };
    let mut csv = Table::new(
        &std::iter::once("step".to_string())
            .chain((0..n_layers).map(name))
            .collect::<Vec<_>>(),
    );
    for l in &lines {
        let mut row = vec![l.step.to_string()];
        row.extend((0..n_layers).map(|i| fmt(l.sigma.get(i).copied(), 6)));
        csv.push(&row);
    }
    let mut summary = Table::new(&[
        "layer",
        "σ first",
        "σ max",
        "σ last",
        "steps in [1.00, 1.05]",
    ]);
    let mut series = Vec::new();
    for i in 0..n_layers {
        let s: Vec<(f64, f64)> = lines
            .iter()
            .filter_map(|l| Some((l.step as f64, *l.sigma.get(i)?)))
            .collect();
        let max = s.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
        // To the table's 4 decimals: a dense 1 × k layer's σ(W̄) is 1 up to rounding.
        let inside = s
            .iter()
            .filter(|p| (1.0..=1.05).contains(&((p.1 * 1e4).round() / 1e4)))
            .count();
        summary.push(&[
            name(i),
            fmt(s.first().map(|p| p.1), 4),
            fmt(Some(max), 4),
            fmt(s.last().map(|p| p.1), 4),
            format!("{:.0}%", 100.0 * inside as f64 / s.len().max(1) as f64),
        ]);
        series.push(Series {
            name: name(i),
            points: s,
        });
    }
    let what = format!(
        "{}, {} at {} width, {}, setting {}, {} loss, {} steps",
        config.dataset.kind(),
        config.arch,
        config.width,
        config.method.paper_name(),
        config.setting,
        config.loss,
        lines.last().map_or(0, |l| l.step)
    );
    let text = format!(
        "# Fig. 9: σ(W̄) of every discriminator layer during training\n\n\
         Run `{}` ({what}); σ is the exact largest singular value of each layer's normalized \
         matrix, logged every {} steps.\n\n{}\n\
         Paper (Fig. 9, App. C.1; CIFAR-10, setting C): σ(W̄) stays in 1.00–1.05 for most \
         layers, the widest layers above 1.1 early in training.\n",
        dir.display(),
        config.sigma_every,
        summary.to_markdown()
    );
    let plot = line_plot(
        &format!("σ(W\u{304}) per D layer ({})", config.method.paper_name()),
        "generator updates",
        "σ(W\u{304})",
        &series,
        Some(1.0),
    );
    Ok(Report {
        files: vec![
            write_text(&req.out, "fig9_sigma.csv", &csv.to_csv())?,
            write_text(&req.out, "fig9_sigma.md", &text)?,
            write_png(&req.out, "fig9_sigma.png", &plot)?,
        ],
        text,
    })
}

// ---------------------------------------------------------------------------------------------
// Figs. 1–2: robustness across settings.

/// How a robustness cell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    /// Trained and scored.
    Ok,
    /// A loss became NaN or infinite: a result (the method failed at the setting), not redone.
    Diverged,
    /// Could not run (e.g. the method is not implemented in this build): redone on the next
    /// invocation.
    Failed,
}

/// One method × setting result, written to `OUT/cells/METHOD-SETTING.json` when it completes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The method's name.
    pub method: String,
    /// The setting (A–F).
    pub setting: String,
    /// Generator updates trained.
    pub steps: usize,
    /// How it ended.
    pub status: CellStatus,
    /// IS (digits IS at small scale).
    pub is: Option<f64>,
    /// FID (digits FID at small scale).
    pub fid: Option<f64>,
    /// What scored it (metric, n_fake, reference).
    pub metric: String,
    /// Seconds of training in the session that finished it.
    pub train_s: f64,
    /// The error, for a diverged or failed cell.
    pub message: Option<String>,
}

/// What [`robustness`] does.
#[derive(Clone, Debug, PartialEq)]
pub struct RobustnessRequest {
    /// Output folder.
    pub out: PathBuf,
    /// Methods [default: all].
    pub methods: Vec<Method>,
    /// Settings [default: A–F].
    pub settings: Vec<Setting>,
    /// Scale, steps [default: 400 at small scale], device.
    pub scale: Scale,
    /// Generated images scored per cell (1,000 at small scale; the paper's 5,000 at full).
    pub n_fake: usize,
    /// At full scale: the Inception weights.
    pub inception_weights: Option<PathBuf>,
}

/// The steps of a robustness or spectra run at small scale, unless given.
pub const SMALL_STEPS: usize = 400;

/// Figs. 1–2: every method × setting trained and scored; a finished cell (its JSON exists
/// with the same steps and is not `failed`) is not redone. Writes `robustness.csv` (one line
/// per cell), `robustness.md` (IS and FID, methods × settings) and `robustness_is.png`,
/// `robustness_fid.png` (grouped bars per setting, as Fig. 1) after every cell.
///
/// # Errors
/// Only those that stop every cell: the classifier's, an output file that cannot be written,
/// full scale without data or Inception weights. A cell's own errors are recorded in it.
pub fn robustness(req: &RobustnessRequest) -> Result<Report, Error> {
    create_dir(&req.out.join("cells"))?;
    let steps = req
        .scale
        .steps
        .unwrap_or(if req.scale.full { 100_000 } else { SMALL_STEPS });
    let scorer = Scorer::new(
        &req.out,
        &req.scale,
        req.inception_weights.as_deref(),
        req.n_fake,
    )?;
    let mut report = Report::default();
    for &setting in &req.settings {
        for &method in &req.methods {
            let path = cell_path(&req.out, method, setting);
            if let Some(c) = read_cell(&path)? {
                if c.steps == steps && c.status != CellStatus::Failed {
                    continue;
                }
            }
            log(
                &req.scale.opts,
                &format!("cell {} × {setting}: training {steps} steps", method.name()),
            );
            let cell = run_cell(req, &scorer, method, setting, steps);
            log(
                &req.scale.opts,
                &format!(
                    "cell {} × {setting}: {:?}, IS {}, FID {}{}",
                    method.name(),
                    cell.status,
                    fmt(cell.is, 3),
                    fmt(cell.fid, 3),
                    cell.message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ),
            );
            let json = serde_json::to_string_pretty(&cell)
                .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
            crate::checkpoint::write_atomic(&path, json.as_bytes())?;
            report = robustness_tables(req, steps)?;
        }
    }
    if report.files.is_empty() {
        report = robustness_tables(req, steps)?;
    }
    Ok(report)
}

fn log(opts: &RunOptions, msg: &str) {
    if opts.progress {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{msg}");
    }
}

/// Runs `f`, turning a panic (a bug in one method's code) into an error, so that one method
/// cannot abort a whole sweep.
fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(Error::Config(format!("panicked: {msg}")))
    })
}

fn cell_path(out: &Path, method: Method, setting: Setting) -> PathBuf {
    out.join("cells")
        .join(format!("{}-{setting}.json", method.name()))
}

fn read_cell(path: &Path) -> Result<Option<Cell>, Error> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Data(format!("{}: not a robustness cell: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io(format!("{}: cannot read: {e}", path.display()))),
    }
}

/// Scores a run: the digits metric at small scale, Inception IS / FID at full scale.
enum Scorer {
    Digits(Box<DigitsMetric>, usize),
    Inception(EvalRequest),
}

impl Scorer {
    fn new(
        out: &Path,
        scale: &Scale,
        weights: Option<&Path>,
        n_fake: usize,
    ) -> Result<Self, Error> {
        if !scale.full {
            return Ok(Scorer::Digits(
                Box::new(DigitsMetric::cached(&out.join(CLASSIFIER_FILE))?),
                n_fake,
            ));
        }
        let weights = weights
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(crate::metrics::inception::WEIGHTS_NAME));
        require_file(&weights, "the Inception weights (--inception-weights)")?;
        let dir = scale.data_dir.clone().ok_or_else(|| {
            Error::Config("--full needs --data-dir DIR (cifar-10-batches-bin)".into())
        })?;
        Ok(Scorer::Inception(EvalRequest {
            weights,
            required: true,
            reference: Some(Reference::Dataset {
                dataset: Dataset::Cifar10 { dir },
                split: "train".into(),
                n_real: 10_000,
                save: None,
            }),
            n_fake,
            splits: crate::metrics::IS_SPLITS,
            batch: 50,
            seed: 0,
        }))
    }

    fn describe(&self) -> String {
        match self {
            Scorer::Digits(_, n) => format!(
                "digits IS / FID (docs/digits_metric.md): n_fake = {n}, reference all 1,797 \
                 digits, classifier {CLASSIFIER_FILE}"
            ),
            Scorer::Inception(r) => format!(
                "Inception IS (10 splits) / FID: weights {}, n_real = 10,000 CIFAR-10 train, \
                 n_fake = {}, resize {}",
                r.weights.display(),
                r.n_fake,
                crate::metrics::Protocol::RESIZE
            ),
        }
    }

    fn score(&self, run_dir: &Path) -> Result<(f64, f64), Error> {
        match self {
            Scorer::Digits(metric, n) => {
                let g = run::generate(run_dir, *n, 0)?;
                let s = metric.score(&g.images, g.m)?;
                Ok((s.is, s.fid))
            }
            Scorer::Inception(req) => match evaluate(run_dir, req)? {
                MetricsReport::Done { is, fid, .. } => {
                    Ok((is.mean, fid.map_or(f64::NAN, |(f, _)| f.value)))
                }
                MetricsReport::Skipped(why) => Err(Error::Config(why)),
            },
        }
    }
}

fn run_cell(
    req: &RobustnessRequest,
    scorer: &Scorer,
    method: Method,
    setting: Setting,
    steps: usize,
) -> Cell {
    let started = Instant::now();
    let dir = run_dir(&req.out, method, setting);
    let result = guard(|| {
        req.scale
            .config(method, setting, steps)
            .and_then(|c| train_or_resume(&c, &dir, req.scale.sweep_opts()))
            .and_then(|_| scorer.score(&dir))
    });
    let mut cell = Cell {
        method: method.name().to_string(),
        setting: setting.to_string(),
        steps,
        status: CellStatus::Ok,
        is: None,
        fid: None,
        metric: scorer.describe(),
        train_s: started.elapsed().as_secs_f64(),
        message: None,
    };
    match result {
        Ok((is, fid)) => {
            cell.is = Some(is);
            cell.fid = Some(fid);
        }
        Err(Error::NonFinite(m)) => {
            cell.status = CellStatus::Diverged;
            cell.message = Some(m);
        }
        Err(e) => {
            cell.status = CellStatus::Failed;
            cell.message = Some(e.to_string());
        }
    }
    cell
}

fn robustness_tables(req: &RobustnessRequest, steps: usize) -> Result<Report, Error> {
    let mut cells = Vec::new();
    for &method in &req.methods {
        for &setting in &req.settings {
            cells.push((
                method,
                setting,
                read_cell(&cell_path(&req.out, method, setting))?,
            ));
        }
    }
    let mut csv = Table::new(&[
        "method", "setting", "steps", "status", "is", "fid", "train_s", "message",
    ]);
    for (m, s, c) in &cells {
        match c {
            Some(c) => csv.push(&[
                m.name().to_string(),
                s.to_string(),
                c.steps.to_string(),
                format!("{:?}", c.status).to_lowercase(),
                fmt(c.is, 4),
                fmt(c.fid, 4),
                format!("{:.1}", c.train_s),
                c.message.clone().unwrap_or_default(),
            ]),
            None => csv.push(&[m.name(), &s.to_string(), "", "pending", "", "", "", ""]),
        }
    }
    let header: Vec<String> = std::iter::once("method".to_string())
        .chain(req.settings.iter().map(|s| s.to_string()))
        .collect();
    let value = |c: &Option<Cell>, is: bool| match c {
        Some(c) if c.status == CellStatus::Ok => fmt(if is { c.is } else { c.fid }, 2),
        Some(c) if c.status == CellStatus::Diverged => "diverged".into(),
        Some(_) => "failed".into(),
        None => "pending".into(),
    };
    let mut tables = String::new();
    let mut plots = Vec::new();
    let metric = if req.scale.full { "" } else { "digits " };
    for (is, what) in [
        (true, "IS (higher is better)"),
        (false, "FID (lower is better)"),
    ] {
        let mut t = Table::new(&header);
        let mut series = Vec::new();
        for &method in &req.methods {
            let row: Vec<&Option<Cell>> = cells
                .iter()
                .filter(|c| c.0 == method)
                .map(|c| &c.2)
                .collect();
            let mut line = vec![method.paper_name().to_string()];
            line.extend(row.iter().map(|c| value(c, is)));
            t.push(&line);
            series.push(BarSeries {
                name: method.name().to_string(),
                values: row
                    .iter()
                    .map(|c| {
                        c.as_ref()
                            .filter(|c| c.status == CellStatus::Ok)
                            .and_then(|c| if is { c.is } else { c.fid })
                    })
                    .collect(),
            });
        }
        tables += &format!("\n{metric}{what}:\n\n{}", t.to_markdown());
        let name = if is { "IS" } else { "FID" };
        plots.push((
            if is {
                "robustness_is.png"
            } else {
                "robustness_fid.png"
            },
            bar_plot(
                &format!("{metric}{name} per setting (Fig. 1), {steps} steps"),
                &format!("{metric}{name}"),
                &header[1..],
                &series,
                None,
            ),
        ));
    }
    let failed: Vec<String> = cells
        .iter()
        .filter_map(|(m, s, c)| {
            let c = c.as_ref()?;
            (c.status != CellStatus::Ok).then(|| {
                format!(
                    "- {} × {s}: {:?}: {}\n",
                    m.name(),
                    c.status,
                    c.message.clone().unwrap_or_default()
                )
            })
        })
        .collect();
    let text = format!(
        "# Figs. 1–2: robustness across Table 1's settings\n\n\
         {} steps per cell; scored by {}.\n{tables}\n{}\
         Paper (Figs. 1–2, CIFAR-10 / STL-10, Inception score): SN-GAN keeps its score across \
         settings A–F; WGAN-GP (and the other methods) lose much of theirs at the aggressive \
         learning rates of D–F.\n",
        steps,
        cells
            .iter()
            .find_map(|c| c.2.as_ref().map(|c| c.metric.clone()))
            .unwrap_or_else(|| "(no cell finished yet)".into()),
        if failed.is_empty() {
            String::new()
        } else {
            format!("Cells without a score:\n\n{}\n", failed.concat())
        }
    );
    let mut files = vec![
        write_text(&req.out, "robustness.csv", &csv.to_csv())?,
        write_text(&req.out, "robustness.md", &text)?,
    ];
    for (name, canvas) in plots {
        files.push(write_png(&req.out, name, &canvas)?);
    }
    Ok(Report { files, text })
}

// ---------------------------------------------------------------------------------------------
// Fig. 3: singular-value spectra.

/// What [`spectra`] does.
#[derive(Clone, Debug, PartialEq)]
pub struct SpectraRequest {
    /// Output folder.
    pub out: PathBuf,
    /// Methods [default: all].
    pub methods: Vec<Method>,
    /// The setting the runs are trained with [default: C].
    pub setting: Setting,
    /// Scale, steps [default: 400 at small scale], device.
    pub scale: Scale,
}

/// Fig. 3: the singular values of every trained D layer, divided by the largest, per method
/// (runs shared with [`robustness`] under the same `--out`). Writes `spectra.csv` (method,
/// layer, index, σ_i, σ_i / σ_1), `spectra.md` (per method and layer the mean of σ_i / σ_1,
/// the area under Fig. 3's curve: near 0 for a rank-concentrated matrix, 1 for a flat
/// spectrum) and one `spectra_LAYER.png` per layer with a line per method.
///
/// # Errors
/// Output files that cannot be written; a method whose run fails is reported in the summary
/// and left out.
pub fn spectra(req: &SpectraRequest) -> Result<Report, Error> {
    create_dir(&req.out)?;
    let steps = req
        .scale
        .steps
        .unwrap_or(if req.scale.full { 100_000 } else { SMALL_STEPS });
    let mut csv = Table::new(&["method", "layer", "index", "singular_value", "normalized"]);
    let mut per_method = Vec::new();
    let mut failures = String::new();
    for &method in &req.methods {
        let dir = run_dir(&req.out, method, req.setting);
        let result = guard(|| {
            req.scale.config(method, req.setting, steps).and_then(|c| {
                // A run at its target (e.g. from `robustness`) is used as it is.
                if run::read_metrics(&dir)
                    .ok()
                    .and_then(|l| l.last().map(|l| l.step))
                    != Some(steps)
                {
                    train_or_resume(&c, &dir, req.scale.sweep_opts())?;
                }
                run::spectra(&dir)
            })
        });
        match result {
            Ok(layers) => {
                for l in &layers {
                    let top = l
                        .singular_values
                        .first()
                        .copied()
                        .unwrap_or(1.0)
                        .max(f64::MIN_POSITIVE);
                    for (i, s) in l.singular_values.iter().enumerate() {
                        csv.push(&[
                            method.name().to_string(),
                            l.name.clone(),
                            (i + 1).to_string(),
                            format!("{s:.6e}"),
                            format!("{:.6}", s / top),
                        ]);
                    }
                }
                per_method.push((method, layers));
            }
            Err(e) => failures += &format!("- {}: {e}\n", method.name()),
        }
    }
    let layer_names: Vec<String> = per_method
        .first()
        .map(|(_, l)| l.iter().map(|l| l.name.clone()).collect())
        .unwrap_or_default();
    let mut md = Table::new(
        &std::iter::once("method".to_string())
            .chain(layer_names.iter().cloned())
            .collect::<Vec<_>>(),
    );
    let mut files = Vec::new();
    for (method, layers) in &per_method {
        let mut row = vec![method.paper_name().to_string()];
        for name in &layer_names {
            let v = layers.iter().find(|l| &l.name == name).map(|l| {
                let top = l
                    .singular_values
                    .first()
                    .copied()
                    .unwrap_or(1.0)
                    .max(f64::MIN_POSITIVE);
                l.singular_values.iter().map(|s| s / top).sum::<f64>()
                    / l.singular_values.len().max(1) as f64
            });
            row.push(fmt(v, 3));
        }
        md.push(&row);
    }
    for name in &layer_names {
        let series: Vec<Series> = per_method
            .iter()
            .filter_map(|(m, layers)| {
                let l = layers.iter().find(|l| &l.name == name)?;
                let top = l
                    .singular_values
                    .first()
                    .copied()
                    .unwrap_or(1.0)
                    .max(f64::MIN_POSITIVE);
                Some(Series {
                    name: m.name().to_string(),
                    points: l
                        .singular_values
                        .iter()
                        .enumerate()
                        .map(|(i, s)| ((i + 1) as f64, s / top))
                        .collect(),
                })
            })
            .collect();
        let plot = line_plot(
            &format!("singular values of D layer {name} / the largest (Fig. 3)"),
            "index",
            "σ_i / σ_1",
            &series,
            None,
        );
        files.push(write_png(&req.out, &format!("spectra_{name}.png"), &plot)?);
    }
    let text = format!(
        "# Fig. 3: singular values of the trained discriminator's layers\n\n\
         Setting {}, {steps} steps per run; each cell is the mean of σ_i / σ_1 over the layer's \
         singular values (the area under Fig. 3's curve; 1 = flat spectrum).\n\n{}\n{}\
         Paper (Fig. 3, CIFAR-10 / STL-10): with weight normalization and weight clipping a few \
         singular values dominate (low-rank W̄, the discriminator uses few features); with SN \
         the spectra stay broad.\n",
        req.setting,
        md.to_markdown(),
        if failures.is_empty() {
            String::new()
        } else {
            format!("Methods without a spectrum:\n\n{failures}\n")
        }
    );
    files.insert(0, write_text(&req.out, "spectra.csv", &csv.to_csv())?);
    files.insert(1, write_text(&req.out, "spectra.md", &text)?);
    Ok(Report { files, text })
}

// ---------------------------------------------------------------------------------------------
// Fig. 10: cost.

/// The networks [`cost`] times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CostArch {
    /// The digits (16×16, ¼-width standard CNN).
    #[default]
    Digits,
    /// CIFAR-sized (32×32, full-width standard CNN, Table 3), as Fig. 10.
    Cifar,
    /// STL-sized (48×48, full-width standard CNN).
    Stl,
}

impl CostArch {
    /// Names for parsing.
    pub const NAMES: &'static [&'static str] = &["digits", "cifar", "stl"];
}

impl std::str::FromStr for CostArch {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "digits" => Ok(CostArch::Digits),
            "cifar" => Ok(CostArch::Cifar),
            "stl" => Ok(CostArch::Stl),
            _ => Err(Error::Config(format!(
                "unknown size {s:?}: expected digits, cifar or stl"
            ))),
        }
    }
}

/// What [`cost`] does.
#[derive(Clone, Debug, PartialEq)]
pub struct CostRequest {
    /// Output folder.
    pub out: PathBuf,
    /// Methods [default: vanilla, wn, sn, wgan-gp].
    pub methods: Vec<Method>,
    /// Network size.
    pub arch: CostArch,
    /// Real images (CIFAR-10's or STL-10's directory) instead of fixed noise; the digits are
    /// always real.
    pub data_dir: Option<PathBuf>,
    /// Timed generator updates per method and repetition.
    pub steps: usize,
    /// Untimed updates before each timing.
    pub warmup: usize,
    /// Repetitions; the methods are timed in turn within each, so load drift hits all alike.
    pub reps: usize,
    /// Device.
    pub device: DeviceKind,
    /// Log each timing.
    pub progress: bool,
}

/// The paper's Fig. 10 (CIFAR-10, seconds per 100 generator updates at n_dis = 5): vanilla,
/// WN, SN, WGAN-GP.
pub const PAPER_FIG10_CIFAR: [(&str, f64); 4] = [
    ("vanilla", 28.0),
    ("wn", 30.0),
    ("sn", 31.0),
    ("wgan-gp", 40.0),
];

/// Fig. 10: seconds per 100 generator updates at n_dis = 5 (setting A's Adam, batch 64) for
/// each method, timed in turn `reps` times in this process; writes `cost.csv` (every timing),
/// `cost.md` (medians, ratios SN / vanilla and WGAN-GP / SN beside the paper's ≈ 1.10 and
/// ≈ 1.3) and `cost.png` (bars per method, one per repetition).
///
/// # Errors
/// [`Error::Config`] for zero steps or reps, or `--device cuda` in a build without CUDA; a
/// method's training error (e.g. not implemented) is reported in its row, not raised.
pub fn cost(req: &CostRequest) -> Result<Report, Error> {
    if req.steps == 0 || req.reps == 0 {
        return Err(Error::Config(
            "cost: --steps and --reps must be at least 1".into(),
        ));
    }
    run::check_device(req.device)?;
    create_dir(&req.out)?;
    let (dataset, width) = match (req.arch, &req.data_dir) {
        (CostArch::Digits, _) => (Dataset::Digits, Width::Quarter),
        (CostArch::Cifar, Some(dir)) => (Dataset::Cifar10 { dir: dir.clone() }, Width::Full),
        (CostArch::Stl, Some(dir)) => (Dataset::Stl10 { dir: dir.clone() }, Width::Full),
        (CostArch::Cifar, None) => (
            Dataset::Cifar10 {
                dir: PathBuf::from("(noise)"),
            },
            Width::Full,
        ),
        (CostArch::Stl, None) => (
            Dataset::Stl10 {
                dir: PathBuf::from("(noise)"),
            },
            Width::Full,
        ),
    };
    let random = req.arch != CostArch::Digits && req.data_dir.is_none();
    let mut times: Vec<(Method, Vec<f64>, Option<String>)> =
        req.methods.iter().map(|&m| (m, Vec::new(), None)).collect();
    let mut csv = Table::new(&["rep", "method", "steps", "seconds", "s_per_100_updates"]);
    for rep in 0..req.reps {
        for (method, ts, err) in times.iter_mut() {
            if err.is_some() {
                continue;
            }
            let mut c = RunConfig::for_dataset(dataset.clone());
            c.apply(&Overrides {
                setting: Some(Setting::A),
                width: Some(width),
                arch: Some(Arch::StdCnn),
                steps: Some(req.warmup + req.steps),
                ..Default::default()
            });
            set_method(&mut c, *method);
            match run::time_steps(&c, req.device, req.warmup, req.steps, random) {
                Ok(s) => {
                    let per100 = s / req.steps as f64 * 100.0;
                    if req.progress {
                        log(
                            &RunOptions {
                                progress: true,
                                ..Default::default()
                            },
                            &format!(
                                "rep {}: {} {per100:.2} s / 100 updates",
                                rep + 1,
                                method.name()
                            ),
                        );
                    }
                    csv.push(&[
                        (rep + 1).to_string(),
                        method.name().to_string(),
                        req.steps.to_string(),
                        format!("{s:.4}"),
                        format!("{per100:.4}"),
                    ]);
                    ts.push(per100);
                }
                Err(e) => *err = Some(e.to_string()),
            }
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        (!v.is_empty()).then(|| {
            if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            }
        })
    };
    let med = |name: &str| {
        times
            .iter()
            .find(|t| t.0.name() == name)
            .and_then(|t| median(&t.1))
    };
    let paper = |name: &str| PAPER_FIG10_CIFAR.iter().find(|p| p.0 == name).map(|p| p.1);
    let mut t = Table::new(&[
        "method",
        "s / 100 G updates (median)",
        "min",
        "max",
        "paper (CIFAR-10, 2018 GPU)",
    ]);
    for (m, ts, err) in &times {
        let lo = ts.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        t.push(&[
            m.paper_name().to_string(),
            err.as_ref()
                .map_or_else(|| fmt(median(ts), 2), |e| format!("failed: {e}")),
            fmt(Some(lo), 2),
            fmt(Some(hi), 2),
            fmt(paper(m.name()), 0),
        ]);
    }
    let ratio = |a: &str, b: &str| Some(med(a)? / med(b)?);
    let mut r = Table::new(&["ratio", "measured", "paper"]);
    r.push(&[
        "SN / vanilla",
        &fmt(ratio("sn", "vanilla"), 3),
        "≈ 1.10 (31 / 28)",
    ]);
    r.push(&[
        "WN / vanilla",
        &fmt(ratio("wn", "vanilla"), 3),
        "≈ 1.07 (30 / 28)",
    ]);
    r.push(&[
        "WGAN-GP / SN",
        &fmt(ratio("wgan-gp", "sn"), 3),
        "≈ 1.3 (40 / 31)",
    ]);
    let size = match req.arch {
        CostArch::Digits => "digits 16x16, 1/4-width standard CNN".to_string(),
        CostArch::Cifar => format!(
            "32x32 full-width standard CNN (Table 3), {}",
            if random { "noise images" } else { "CIFAR-10" }
        ),
        CostArch::Stl => format!(
            "48x48 full-width standard CNN (Table 3), {}",
            if random { "noise images" } else { "STL-10" }
        ),
    };
    let text = format!(
        "# Fig. 10: training cost\n\n{size}, n_dis = 5, batch 64, device {}; {} timed updates \
         after {} warm-up, {} repetitions with the methods interleaved.\n\n{}\n{}\n\
         Paper (Fig. 10, CIFAR-10, 2018 GPU): vanilla ≈ 28, WN ≈ 30, SN ≈ 31, WGAN-GP ≈ 40 s \
         per 100 generator updates.\n",
        req.device,
        req.steps,
        req.warmup,
        req.reps,
        t.to_markdown(),
        r.to_markdown()
    );
    let groups: Vec<String> = times.iter().map(|t| t.0.name().to_string()).collect();
    let series: Vec<BarSeries> = (0..req.reps)
        .map(|k| BarSeries {
            name: format!("rep {}", k + 1),
            values: times.iter().map(|t| t.1.get(k).copied()).collect(),
        })
        .collect();
    let plot = bar_plot(
        "seconds per 100 generator updates, n_dis = 5 (Fig. 10)",
        "s / 100 updates",
        &groups,
        &series,
        None,
    );
    Ok(Report {
        files: vec![
            write_text(&req.out, "cost.csv", &csv.to_csv())?,
            write_text(&req.out, "cost.md", &text)?,
            write_png(&req.out, "cost.png", &plot)?,
        ],
        text,
    })
}

// ---------------------------------------------------------------------------------------------
// Table 2.

/// The paper's Table 2 (unsupervised): (method, loss, resnet, IS CIFAR-10, FID CIFAR-10,
/// IS STL-10, FID STL-10).
pub const PAPER_TABLE2: &[(
    &str,
    &str,
    bool,
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<f64>,
)] = &[
    (
        "clip",
        "wasserstein",
        false,
        Some(6.41),
        Some(42.6),
        Some(7.57),
        Some(64.2),
    ),
    (
        "gan-gp",
        "standard",
        false,
        Some(6.93),
        Some(37.7),
        None,
        None,
    ),
    (
        "wgan-gp",
        "wasserstein",
        false,
        Some(6.68),
        Some(40.2),
        Some(8.42),
        Some(55.1),
    ),
    ("bn", "standard", false, Some(6.27), Some(56.3), None, None),
    (
        "ln",
        "standard",
        false,
        Some(7.19),
        Some(33.9),
        Some(7.61),
        Some(75.6),
    ),
    (
        "wn",
        "standard",
        false,
        Some(6.84),
        Some(34.7),
        Some(7.16),
        Some(73.4),
    ),
    (
        "ortho",
        "standard",
        false,
        Some(7.40),
        Some(29.0),
        Some(8.56),
        Some(46.7),
    ),
    (
        "sn",
        "standard",
        false,
        Some(7.42),
        Some(29.3),
        Some(8.28),
        Some(53.1),
    ),
    (
        "sn",
        "hinge",
        false,
        Some(7.58),
        Some(25.5),
        Some(8.79),
        Some(43.2),
    ),
    (
        "sn",
        "hinge",
        true,
        Some(8.22),
        Some(21.7),
        Some(9.10),
        Some(40.1),
    ),
];

/// The paper's (IS, FID) for a row, if Table 2 has it.
pub fn paper_table2(
    method: Method,
    loss: LossName,
    arch: Arch,
    dataset: DatasetKind,
) -> Option<(Option<f64>, Option<f64>)> {
    let resnet = arch == Arch::ResNet;
    let row = PAPER_TABLE2
        .iter()
        .find(|r| r.0 == method.name() && r.1 == loss.to_string() && r.2 == resnet)
        .or_else(|| {
            (method != Method::Sn)
                .then(|| {
                    PAPER_TABLE2
                        .iter()
                        .find(|r| r.0 == method.name() && !resnet)
                })
                .flatten()
        })?;
    match dataset {
        DatasetKind::Cifar10 => Some((row.3, row.4)),
        DatasetKind::Stl10 => Some((row.5, row.6)),
        _ => None,
    }
}

/// What [`table2`] does: one row of Table 2.
#[derive(Clone, Debug, PartialEq)]
pub struct Table2Request {
    /// Output folder (the run is `OUT/runs/ROW`, the row `OUT/table2/ROW.json`).
    pub out: PathBuf,
    /// The method.
    pub method: Method,
    /// cifar10 or stl10.
    pub dataset: DatasetKind,
    /// The dataset's directory.
    pub data_dir: PathBuf,
    /// The Inception weights (safetensors from `convert_fid_weights.py`).
    pub inception_weights: PathBuf,
    /// FID against these statistics instead of the dataset's first `n_real` images.
    pub fid_stats: Option<PathBuf>,
    /// std-cnn (Table 3) or resnet (Tables 4–5).
    pub arch: Arch,
    /// The loss [default: the method's; `hinge` for SN's hinge rows].
    pub loss: Option<LossName>,
    /// The setting [default: C for the standard CNN, resnet for the ResNet].
    pub setting: Option<Setting>,
    /// Generator updates [default: 100,000; the ResNet 50,000].
    pub steps: Option<usize>,
    /// Real images for FID (the paper: 10,000).
    pub n_real: usize,
    /// Generated images (the paper: 5,000).
    pub n_fake: usize,
    /// Device and progress.
    pub opts: RunOptions,
}

fn require_file(path: &Path, what: &str) -> Result<(), Error> {
    if path.is_file() {
        Ok(())
    } else {
        Err(Error::Io(format!("{}: not found ({what})", path.display())))
    }
}

/// The files a dataset's training split needs.
fn dataset_files(kind: DatasetKind, dir: &Path) -> Vec<PathBuf> {
    match kind {
        DatasetKind::Cifar10 => (1..=5)
            .map(|i| dir.join(format!("data_batch_{i}.bin")))
            .collect(),
        DatasetKind::Stl10 => vec![dir.join("unlabeled_X.bin")],
        _ => Vec::new(),
    }
}

/// One row of Table 2 at full scale: checks that the data, the Inception weights (and FID
/// statistics, if given) exist before anything else, trains (or continues) the run with
/// `sngan train`'s machinery, evaluates it with `sngan eval`'s (IS over 10 splits, FID against
/// the first `n_real` images of CIFAR-10 train / STL-10 unlabeled, or `fid_stats`), and writes
/// the row with its protocol (weights, n_real, split, n_fake, resize, steps, setting, loss)
/// beside the paper's numbers to `table2/ROW.json`; `table2.csv` and `table2.md` hold every
/// row under `OUT`.
///
/// # Errors
/// [`Error::Config`] for a dataset other than cifar10 / stl10; [`Error::Io`] naming a missing
/// data, weights or statistics file; training's and evaluation's errors.
pub fn table2(req: &Table2Request) -> Result<Report, Error> {
    if !matches!(req.dataset, DatasetKind::Cifar10 | DatasetKind::Stl10) {
        return Err(Error::Config(format!(
            "Table 2 is on cifar10 and stl10, not {}",
            req.dataset
        )));
    }
    for f in dataset_files(req.dataset, &req.data_dir) {
        require_file(
            &f,
            &format!("the {} training data, --data-dir", req.dataset),
        )?;
    }
    require_file(
        &req.inception_weights,
        &format!(
            "the Inception weights, --inception-weights; {}",
            crate::metrics::inception::MISSING_WEIGHTS_HELP
        ),
    )?;
    if let Some(s) = &req.fid_stats {
        require_file(s, "the FID reference statistics, --fid-stats")?;
    }
    run::check_device(req.opts.device)?;
    let dataset = Dataset::from_parts(req.dataset, Some(req.data_dir.clone()), None)?;
    let mut c = RunConfig::for_dataset(dataset.clone());
    c.apply(&Overrides {
        arch: Some(req.arch),
        setting: req.setting,
        steps: req.steps.or((req.arch == Arch::ResNet).then_some(50_000)),
        ..Default::default()
    });
    set_method(&mut c, req.method);
    if let Some(l) = req.loss {
        c.loss = l;
    } else if req.arch == Arch::ResNet {
        c.loss = LossName::Hinge;
    }
    let row_name = format!(
        "{}-{}-{}-{}",
        req.method.name(),
        c.loss,
        c.arch,
        req.dataset
    );
    let dir = req.out.join("runs").join(&row_name);
    create_dir(&req.out.join("table2"))?;
    train_or_resume(&c, &dir, req.opts)?;
    let split = if req.dataset == DatasetKind::Cifar10 {
        "train"
    } else {
        "unlabeled"
    };
    let reference = match &req.fid_stats {
        Some(p) => Reference::Stats(p.clone()),
        None => Reference::Dataset {
            dataset,
            split: split.into(),
            n_real: req.n_real,
            save: Some(req.out.join(format!(
                "fid_stats_{}_{split}_{}.npz",
                req.dataset, req.n_real
            ))),
        },
    };
    let report = evaluate(
        &dir,
        &EvalRequest {
            weights: req.inception_weights.clone(),
            required: true,
            reference: Some(reference),
            n_fake: req.n_fake,
            splits: crate::metrics::IS_SPLITS,
            batch: 50,
            seed: 0,
        },
    )?;
    let MetricsReport::Done { is, fake, fid, .. } = report else {
        return Err(Error::Config("Inception metrics were skipped".into()));
    };
    let paper = paper_table2(req.method, c.loss, c.arch, req.dataset);
    let row = Table2Row {
        method: req.method.name().into(),
        loss: c.loss.to_string(),
        arch: c.arch.to_string(),
        dataset: req.dataset.to_string(),
        steps: c.steps,
        setting: c.setting.to_string(),
        is_mean: is.mean,
        is_std: is.std,
        fid: fid.as_ref().map(|f| f.0.value),
        paper_is: paper.and_then(|p| p.0),
        paper_fid: paper.and_then(|p| p.1),
        fake: fake.describe(),
        real: fid.map(|f| f.1).unwrap_or_default(),
    };
    let path = req.out.join("table2").join(format!("{row_name}.json"));
    let json = serde_json::to_string_pretty(&row)
        .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    crate::checkpoint::write_atomic(&path, json.as_bytes())?;
    table2_tables(&req.out)
}

/// One measured row of Table 2 with its protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table2Row {
    /// Method name.
    pub method: String,
    /// Loss.
    pub loss: String,
    /// Architecture.
    pub arch: String,
    /// Dataset.
    pub dataset: String,
    /// Generator updates.
    pub steps: usize,
    /// Table 1 setting.
    pub setting: String,
    /// IS mean over 10 splits.
    pub is_mean: f64,
    /// IS std over 10 splits.
    pub is_std: f64,
    /// FID.
    pub fid: Option<f64>,
    /// The paper's IS.
    pub paper_is: Option<f64>,
    /// The paper's FID.
    pub paper_fid: Option<f64>,
    /// The generated images' protocol (weights, n_fake, resize).
    pub fake: String,
    /// The reference's protocol (dataset, split, n_real, weights, resize).
    pub real: String,
}

/// `table2.csv` and `table2.md` from every `OUT/table2/*.json`.
///
/// # Errors
/// [`Error::Data`] naming a row file that does not parse; [`Error::Io`].
pub fn table2_tables(out: &Path) -> Result<Report, Error> {
    let dir = out.join("table2");
    let mut rows = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| Error::Io(format!("{}: cannot read: {e}", dir.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for p in entries {
        let text = fs::read_to_string(&p)
            .map_err(|e| Error::Io(format!("{}: cannot read: {e}", p.display())))?;
        let row: Table2Row = serde_json::from_str(&text)
            .map_err(|e| Error::Data(format!("{}: not a Table 2 row: {e}", p.display())))?;
        rows.push(row);
    }
    let mut t = Table::new(&[
        "method",
        "loss",
        "arch",
        "dataset",
        "IS",
        "paper IS",
        "FID",
        "paper FID",
        "steps",
        "setting",
        "protocol (fake; real)",
    ]);
    for r in &rows {
        t.push(&[
            r.method.clone(),
            r.loss.clone(),
            r.arch.clone(),
            r.dataset.clone(),
            format!("{:.2} ± {:.2}", r.is_mean, r.is_std),
            fmt(r.paper_is, 2),
            fmt(r.fid, 2),
            fmt(r.paper_fid, 1),
            r.steps.to_string(),
            r.setting.clone(),
            format!("{}; {}", r.fake, r.real),
        ]);
    }
    let text = format!(
        "# Table 2 (unsupervised), measured rows\n\n{}",
        t.to_markdown()
    );
    Ok(Report {
        files: vec![
            write_text(out, "table2.csv", &t.to_csv())?,
            write_text(out, "table2.md", &text)?,
        ],
        text,
    })
}

// ---------------------------------------------------------------------------------------------
// The digits metric's own reference values.

/// The digits metric on reference image sets (what `docs/digits_metric.md` quotes): the real
/// digits, two disjoint halves and their FID to each other, the real digits with added
/// Gaussian noise, uniform noise, a collapsed generator (one digit repeated) and a single
/// class. Writes `digits_metric.csv`, `digits_metric.md` and `digits_metric.png` (FID per set).
///
/// # Errors
/// The classifier's; output files that cannot be written.
pub fn digits_metric(out: &Path) -> Result<Report, Error> {
    use crate::metrics::digits::{real_images, DigitsClassifier, INPUT, SIDE};
    use rand::{Rng, SeedableRng};
    use rand_distr::StandardNormal;
    create_dir(out)?;
    let started = Instant::now();
    let (classifier, trained) = DigitsClassifier::load_or_train(&out.join(CLASSIFIER_FILE))?;
    let train_s = started.elapsed().as_secs_f64();
    let accuracy = classifier.held_out_accuracy();
    let metric = DigitsMetric::new(classifier)?;
    let real = real_images();
    let per = 3 * INPUT;
    let n = real.len() / per;
    let half = n / 2 * per;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let noisy = |rng: &mut rand::rngs::StdRng, std: f32| -> Vec<f32> {
        real.chunks_exact(per)
            .flat_map(|img| {
                let plane: Vec<f32> = img[..INPUT]
                    .iter()
                    .map(|&v| (v + std * rng.sample::<f32, _>(StandardNormal)).clamp(-1.0, 1.0))
                    .collect();
                [plane.clone(), plane.clone(), plane].concat()
            })
            .collect()
    };
    let noisy_01 = noisy(&mut rng, 0.1);
    let noisy_03 = noisy(&mut rng, 0.3);
    let uniform: Vec<f32> = (0..1000 * per)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let collapsed = real[..per].repeat(1000);
    let labels: Vec<u8> = crate::data::digits_raw()
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    let zeros: Vec<f32> = real
        .chunks_exact(per)
        .zip(&labels)
        .filter(|(_, &l)| l == 0)
        .flat_map(|(img, _)| img.to_vec())
        .collect();
    let sets: [(&str, &[f32]); 8] = [
        ("real digits, all 1,797", &real),
        ("real digits, first half", &real[..half]),
        ("real digits, second half", &real[half..]),
        ("real digits + N(0, 0.1²) noise", &noisy_01),
        ("real digits + N(0, 0.3²) noise", &noisy_03),
        ("only the zeros (one class)", &zeros),
        ("one digit repeated 1,000 times (collapse)", &collapsed),
        ("uniform noise in [-1, 1], 1,000 images", &uniform),
    ];
    let mut t = Table::new(&["images", "n", "digits IS", "digits FID"]);
    let mut bars = Vec::new();
    for (name, images) in sets {
        let s = metric.score(images, SIDE)?;
        t.push(&[
            name.to_string(),
            s.n.to_string(),
            format!("{:.3}", s.is),
            format!("{:.3}", s.fid.max(0.0)),
        ]);
        bars.push(s.fid);
    }
    let split = metric.fid_between(&real[..half], &real[half..], SIDE)?;
    let text = format!(
        "# The digits metric's reference values\n\n\
         Classifier {CLASSIFIER_FILE} ({}; held-out accuracy {:.1}% on 299 digits). FID is \
         against all 1,797 real digits; the FID between the two disjoint halves is {split:.3}.\n\n{}",
        if trained { format!("trained now in {train_s:.1} s") } else { "loaded from the cache".into() },
        100.0 * accuracy,
        t.to_markdown()
    );
    let groups: Vec<String> = (1..=bars.len()).map(|i| i.to_string()).collect();
    let plot = bar_plot(
        "digits FID of reference sets (rows of digits_metric.md)",
        "digits FID",
        &groups,
        &[BarSeries {
            name: "FID".into(),
            values: bars.into_iter().map(Some).collect(),
        }],
        None,
    );
    Ok(Report {
        files: vec![
            write_text(out, "digits_metric.csv", &t.to_csv())?,
            write_text(out, "digits_metric.md", &text)?,
            write_png(out, "digits_metric.png", &plot)?,
        ],
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_markdown_escapes() {
        let mut t = Table::new(&["a", "b"]);
        t.push(&["1", "x,y"]);
        t.push(&["say \"hi\"", "p|q\nr"]);
        assert_eq!(
            t.to_csv(),
            "a,b\n1,\"x,y\"\n\"say \"\"hi\"\"\",\"p|q\nr\"\n"
        );
        let md = t.to_markdown();
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1], "| --- | --- |");
        assert_eq!(lines[3], "| say \"hi\" | p\\|q r |");
        // Every line has the same number of unescaped separators.
        let seps = |l: &str| l.replace("\\|", "").matches('|').count();
        assert!(lines.iter().all(|l| seps(l) == 3), "{md}");
    }

    #[test]
    fn the_papers_table2_rows_are_found() {
        let sn = |loss, arch, d| paper_table2(Method::Sn, loss, arch, d);
        assert_eq!(
            sn(LossName::Standard, Arch::StdCnn, DatasetKind::Cifar10),
            Some((Some(7.42), Some(29.3)))
        );
        assert_eq!(
            sn(LossName::Hinge, Arch::StdCnn, DatasetKind::Stl10),
            Some((Some(8.79), Some(43.2)))
        );
        assert_eq!(
            sn(LossName::Hinge, Arch::ResNet, DatasetKind::Cifar10),
            Some((Some(8.22), Some(21.7)))
        );
        assert_eq!(
            paper_table2(
                Method::GanGp,
                LossName::Standard,
                Arch::StdCnn,
                DatasetKind::Stl10
            ),
            Some((None, None))
        );
        assert_eq!(
            paper_table2(
                Method::Vanilla,
                LossName::Standard,
                Arch::StdCnn,
                DatasetKind::Cifar10
            ),
            None
        );
    }
}
