//! The recovered forest as the tree view shows it: one tree per root with duplicates hung under
//! their originals, then an "Unrelated" group and a "Skipped" group. Also the questions the
//! panels and keys ask of it: the edge into a model, its parent, its ancestors, search order.

use super::theme::{Level, Theme};
use crate::discover::ModelKind;
use crate::engine::ScanReport;
use crate::lineage::{Edge, EdgeKind, Regime};
use crate::units as format;
use ratatui::text::{Line, Span};
use std::collections::HashMap;
use tui_tree_widget::TreeItem;

/// What a row of the tree stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeId {
    Model(usize),
    /// The group of models linked to nothing.
    Unrelated,
    /// The group of files that could not be read.
    Skipped,
    /// One skipped file (index into `ScanReport::skipped`).
    SkippedFile(usize),
}

pub use crate::engine::Declared;

#[derive(Debug, thiserror::Error)]
#[error("cannot build the tree view: {0}")]
pub struct ForestError(#[from] std::io::Error);

pub struct Forest {
    report: ScanReport,
    items: Vec<TreeItem<'static, NodeId>>,
    /// Path of identifiers from the top row to each node, for selecting and opening.
    paths: HashMap<NodeId, Vec<NodeId>>,
    /// Models in tree order (pre-order), for search.
    order: Vec<usize>,
    /// Index into `recovery.edges` of the edge into each model.
    edge_into: Vec<Option<usize>>,
    /// The original of each duplicate copy.
    original_of: Vec<Option<usize>>,
    tree_count: usize,
    unrelated_count: usize,
}

impl Forest {
    pub fn new(report: ScanReport, theme: Theme) -> Result<Self, ForestError> {
        let count = report.models.len();
        let mut edge_into = vec![None; count];
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (index, edge) in report.recovery.edges.iter().enumerate() {
            let in_range = edge.parent < count && edge.child < count;
            if in_range && edge.parent != edge.child && edge_into[edge.child].is_none() {
                edge_into[edge.child] = Some(index);
                children[edge.parent].push(edge.child);
            }
        }
        let mut original_of = vec![None; count];
        let mut copies: Vec<Vec<usize>> = vec![Vec::new(); count];
        for duplicate in &report.recovery.duplicates {
            let in_range = duplicate.original < count && duplicate.copy < count;
            if in_range
                && duplicate.original != duplicate.copy
                && edge_into[duplicate.copy].is_none()
            {
                original_of[duplicate.copy] = Some(duplicate.original);
                copies[duplicate.original].push(duplicate.copy);
            }
        }
        let id = |model: usize| report.models[model].entry.id.as_str();
        for list in children.iter_mut().chain(copies.iter_mut()) {
            list.sort_by(|a, b| id(*a).cmp(id(*b)));
        }

        // Tops of trees: the declared roots first, then any parentless model with children.
        let has_parent = |model: usize| edge_into[model].is_some() || original_of[model].is_some();
        let mut tops: Vec<usize> = report
            .recovery
            .roots
            .iter()
            .copied()
            .filter(|&model| model < count && !has_parent(model))
            .collect();
        for (model, below) in children.iter().enumerate() {
            if !has_parent(model) && !below.is_empty() && !tops.contains(&model) {
                tops.push(model);
            }
        }

        let mut builder = Builder {
            report: &report,
            theme,
            children: &children,
            copies: &copies,
            edge_into: &edge_into,
            original_of: &original_of,
            placed: vec![false; count],
            paths: HashMap::new(),
            order: Vec::new(),
        };
        let mut items = Vec::new();
        for &top in &tops {
            items.push(builder.model_item(top, &[])?);
        }
        let tree_count = items.len();

        let mut unrelated: Vec<usize> = report
            .recovery
            .unrelated
            .iter()
            .copied()
            .filter(|&model| model < count)
            .collect();
        unrelated.extend(0..count);
        let group = [NodeId::Unrelated];
        let mut unrelated_items = Vec::new();
        for model in unrelated {
            if !builder.placed[model] && !has_parent(model) {
                unrelated_items.push(builder.model_item(model, &group)?);
            }
        }
        // A model whose parent chain never reached a top (a cycle in bad input) still gets a row.
        for model in 0..count {
            if !builder.placed[model] {
                unrelated_items.push(builder.model_item(model, &group)?);
            }
        }
        let unrelated_count = unrelated_items.len();
        if !unrelated_items.is_empty() {
            let label = Line::from(vec![
                Span::styled("Unrelated", theme.title()),
                Span::styled(
                    format!("  {unrelated_count} linked to nothing"),
                    theme.muted(),
                ),
            ]);
            builder.paths.insert(NodeId::Unrelated, group.to_vec());
            items.push(TreeItem::new(NodeId::Unrelated, label, unrelated_items)?);
        }

        if !report.skipped.is_empty() {
            let group = vec![NodeId::Skipped];
            let mut skipped_items = Vec::new();
            for (index, skipped) in report.skipped.iter().enumerate() {
                let node = NodeId::SkippedFile(index);
                let label = Line::from(vec![
                    Span::raw(skipped.path.display().to_string()),
                    Span::styled(format!("  {}", skipped.reason), theme.muted()),
                ]);
                builder.paths.insert(node, vec![NodeId::Skipped, node]);
                skipped_items.push(TreeItem::new_leaf(node, label));
            }
            let label = Line::from(vec![
                Span::styled("Skipped", theme.title()),
                Span::styled(
                    format!("  {} could not be read", report.skipped.len()),
                    theme.muted(),
                ),
            ]);
            builder.paths.insert(NodeId::Skipped, group);
            items.push(TreeItem::new(NodeId::Skipped, label, skipped_items)?);
        }

        let Builder { paths, order, .. } = builder;
        Ok(Self {
            report,
            items,
            paths,
            order,
            edge_into,
            original_of,
            tree_count,
            unrelated_count,
        })
    }

    pub fn report(&self) -> &ScanReport {
        &self.report
    }

    pub fn items(&self) -> &[TreeItem<'static, NodeId>] {
        &self.items
    }

    pub fn path(&self, node: NodeId) -> Option<&[NodeId]> {
        self.paths.get(&node).map(Vec::as_slice)
    }

    /// Every node that has children, for opening the whole forest at start.
    pub fn branch_paths(&self) -> impl Iterator<Item = &[NodeId]> {
        self.paths
            .iter()
            .filter(|(node, _)| self.has_children(**node))
            .map(|(_, path)| path.as_slice())
    }

    fn has_children(&self, node: NodeId) -> bool {
        match node {
            NodeId::Model(model) => {
                self.edge_into
                    .iter()
                    .flatten()
                    .any(|&edge| self.report.recovery.edges[edge].parent == model)
                    || self.original_of.contains(&Some(model))
            }
            NodeId::Unrelated | NodeId::Skipped => true,
            NodeId::SkippedFile(_) => false,
        }
    }

    pub fn tree_count(&self) -> usize {
        self.tree_count
    }

    pub fn unrelated_count(&self) -> usize {
        self.unrelated_count
    }

    /// Models in the order the tree shows them.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    pub fn id(&self, model: usize) -> &str {
        &self.report.models[model].entry.id
    }

    pub fn edge_into(&self, model: usize) -> Option<&Edge> {
        self.edge_into
            .get(model)
            .copied()
            .flatten()
            .map(|index| &self.report.recovery.edges[index])
    }

    pub fn original_of(&self, model: usize) -> Option<usize> {
        self.original_of.get(model).copied().flatten()
    }

    /// The model's parent in the tree: the recovered parent, or the original of a copy.
    pub fn parent(&self, model: usize) -> Option<usize> {
        self.edge_into(model)
            .map(|edge| edge.parent)
            .or_else(|| self.original_of(model))
    }

    /// The chain from the root down to `model`, inclusive (cycle-safe).
    pub fn lineage(&self, model: usize) -> Vec<usize> {
        let mut chain = vec![model];
        let mut current = model;
        while let Some(parent) = self.edge_into(current).map(|edge| edge.parent) {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            current = parent;
        }
        chain.reverse();
        chain
    }

    pub fn children_count(&self, model: usize) -> usize {
        self.report
            .recovery
            .edges
            .iter()
            .enumerate()
            .filter(|(index, edge)| {
                edge.parent == model && self.edge_into.get(edge.child) == Some(&Some(*index))
            })
            .count()
    }

    /// Models whose id contains `query`, ignoring case, in tree order.
    pub fn search(&self, query: &str) -> Vec<usize> {
        let query = query.to_lowercase();
        if query.is_empty() {
            return Vec::new();
        }
        self.order
            .iter()
            .copied()
            .filter(|&model| self.id(model).to_lowercase().contains(&query))
            .collect()
    }

    pub fn declared(&self, model: usize) -> Declared {
        crate::engine::declared_status(&self.report, model, self.parent(model))
    }
}

struct Builder<'r> {
    report: &'r ScanReport,
    theme: Theme,
    children: &'r [Vec<usize>],
    copies: &'r [Vec<usize>],
    edge_into: &'r [Option<usize>],
    original_of: &'r [Option<usize>],
    placed: Vec<bool>,
    paths: HashMap<NodeId, Vec<NodeId>>,
    order: Vec<usize>,
}

impl Builder<'_> {
    fn model_item(
        &mut self,
        model: usize,
        above: &[NodeId],
    ) -> Result<TreeItem<'static, NodeId>, ForestError> {
        self.placed[model] = true;
        self.order.push(model);
        let node = NodeId::Model(model);
        let mut path = above.to_vec();
        path.push(node);
        let mut items = Vec::new();
        for &child in self.children[model].iter().chain(&self.copies[model]) {
            if !self.placed[child] {
                items.push(self.model_item(child, &path)?);
            }
        }
        self.paths.insert(node, path);
        let label = self.label(model);
        Ok(TreeItem::new(node, label, items)?)
    }

    fn label(&self, model: usize) -> Line<'static> {
        let theme = self.theme;
        let scanned = &self.report.models[model];
        let mut spans = vec![
            Span::raw(scanned.entry.id.clone()),
            Span::styled(
                format!("  {}", format::si(scanned.fingerprint.params)),
                theme.muted(),
            ),
        ];
        let edge = self.edge_into[model].map(|index| &self.report.recovery.edges[index]);
        let original = self.original_of[model];
        let mut badges = Vec::new();
        match (edge, original) {
            (Some(edge), _) => {
                let level = edge.level();
                // A low confidence is a guess, and the tree says so in the one word it has.
                let word = match level {
                    Level::Low => "guess",
                    _ => level.word(),
                };
                spans.push(Span::styled(
                    format!("  {:.2} {word}", edge.confidence),
                    theme.level(level),
                ));
                match edge.kind {
                    EdgeKind::Adapter => badges.push("adapter".to_string()),
                    EdgeKind::Quantized => badges.push("quant".to_string()),
                    EdgeKind::Cast => badges.push("cast".to_string()),
                    EdgeKind::Finetune => {}
                }
                if edge.regime == Regime::LowRank {
                    badges.push(match edge.rank {
                        Some(rank) => format!("low-rank r={rank}"),
                        None => "low-rank".to_string(),
                    });
                }
            }
            (None, Some(_)) => badges.push("dup".to_string()),
            (None, None) if !self.children[model].is_empty() => {
                spans.push(Span::styled("  root", theme.accent()));
            }
            (None, None) => {}
        }
        // A PEFT adapter is an adapter whatever edge the weights gave it.
        let is_adapter = matches!(scanned.entry.kind, ModelKind::Adapter { .. });
        if is_adapter && !badges.iter().any(|badge| badge == "adapter") {
            badges.insert(0, "adapter".to_string());
        }
        let parent = edge.map(|edge| edge.parent).or(original);
        match crate::engine::declared_status(self.report, model, parent) {
            Declared::Agrees => badges.push("declared ✓".to_string()),
            Declared::Disagrees => badges.push("declared ✗".to_string()),
            Declared::None | Declared::NotScanned => {}
        }
        for badge in badges {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(format!("[{badge}]"), theme.badge()));
        }
        Line::from(spans)
    }
}
