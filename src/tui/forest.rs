//! The recovered forest as the tree view shows it: one tree per root with duplicates hung under
//! their originals, then an "Unrelated" group and a "Skipped" group. Also the questions the
//! panels and keys ask of it: the edge into a model, its parent, its ancestors, search order,
//! and the rows a filter and a sort leave on screen.

use crate::discover::ModelKind;
use crate::engine::ScanReport;
use crate::lineage::{Edge, EdgeKind, Level, Merge, MergeHub, Naming, Regime, Undecided};
use crate::measure::TensorFingerprint;
use crate::units as format;
use std::collections::{HashMap, HashSet};

/// What a row of the tree stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeId {
    Model(usize),
    /// A folder the scanned trees were found in (`gentle1001/hub`; the forest's places by
    /// index), above the trees whose tops it holds. Only a scan whose trees lie in more than
    /// one such folder has these rows.
    Place(usize),
    /// The group of models linked to nothing.
    Unrelated,
    /// The group of files that could not be read.
    Skipped,
    /// One skipped file (index into `ScanReport::skipped`).
    SkippedFile(usize),
}

pub use crate::engine::Declared;

/// Which rows the tree keeps. A kept row's ancestors stay too, so every row keeps its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    /// Edges whose confidence is below [`Level::HIGH`].
    Doubtful,
    /// Models whose declared parent is not the recovered one.
    Disagreeing,
    /// One tree (the top row of it).
    Tree(NodeId),
}

impl Filter {
    /// How the header names the filter.
    pub fn describe(self, forest: &Forest) -> String {
        match self {
            Filter::All => "all models".to_string(),
            Filter::Doubtful => format!("confidence below {:.2}", Level::HIGH),
            Filter::Disagreeing => "declared parent disagrees".to_string(),
            Filter::Tree(NodeId::Model(top)) => format!("tree of {}", forest.id(top)),
            Filter::Tree(NodeId::Place(place)) => {
                format!("trees found in {}", forest.place_name(place))
            }
            Filter::Tree(NodeId::Unrelated) => "unrelated models".to_string(),
            Filter::Tree(_) => "skipped files".to_string(),
        }
    }
}

/// The order of siblings in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Name,
    /// Least confident edge first: the doubtful ones are where a reader looks.
    Confidence,
    /// Most parameters first.
    Size,
}

impl SortOrder {
    pub fn next(self) -> Self {
        match self {
            SortOrder::Name => SortOrder::Confidence,
            SortOrder::Confidence => SortOrder::Size,
            SortOrder::Size => SortOrder::Name,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            SortOrder::Name => "name",
            SortOrder::Confidence => "confidence (lowest first)",
            SortOrder::Size => "size (largest first)",
        }
    }
}

/// What the tree shows: a filter and a sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct View {
    pub filter: Filter,
    pub sort: SortOrder,
}

/// One row on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: usize,
    /// The guide lines before the row's own symbol, as the text output draws them: `│  ├`.
    pub guide: String,
    /// The row is the last of its siblings (its guide ends in `└`).
    pub last: bool,
    pub has_children: bool,
    pub open: bool,
    /// Every row below this one, at any depth, whatever the filter.
    pub descendants: usize,
    /// The row is kept for its own sake, not only as an ancestor of a kept row.
    pub matches_filter: bool,
}

/// The parts of a model's row, kept apart so the view can fit them to its width.
#[derive(Debug, Clone)]
pub struct ModelLabel {
    pub id: String,
    pub params: String,
    /// The confidence of the edge into the model as printed (rounded down, as everywhere), its
    /// level read from that number, and its word (`guess` when low).
    pub confidence: Option<(String, Level, &'static str)>,
    /// A top of a tree.
    pub root: bool,
    /// What the weights say the edge is: `adapter`, `quant`, `low-rank r=8`, `dup`, ...
    pub badges: Vec<String>,
    /// What the files say about themselves: their format when not safetensors, and whether
    /// their metadata names the same parent. The evidence panel repeats both, so a narrow row
    /// gives these up before the badges above.
    pub metadata_badges: Vec<String>,
}

/// The excess kurtosis of the family's matrices of one shape.
type ByShape = Vec<(Vec<usize>, Vec<f64>)>;

/// What a tree's members hold: how many there are and, per matrix name and shape, the excess
/// kurtosis of each member's matrix.
#[derive(Debug, Default)]
pub struct Family {
    pub members: usize,
    kurtosis: HashMap<String, ByShape>,
}

impl Family {
    /// The kurtosis of the members' matrices of this name and shape.
    pub fn kurtosis(&self, name: &str, shape: &[usize]) -> &[f64] {
        self.kurtosis
            .get(name)
            .and_then(|shapes| shapes.iter().find(|(s, _)| s == shape))
            .map_or(&[], |(_, values)| values.as_slice())
    }
}

/// A folder the trees were found in, as a place row shows it.
#[derive(Debug)]
struct Place {
    /// As models record it ([`ModelEntry::found_in`]): relative to the scanned root.
    ///
    /// [`ModelEntry::found_in`]: crate::discover::ModelEntry::found_in
    found_in: String,
    /// The folder itself, taken from where its models are: `None` when their paths do not
    /// say (models from a bundle, found in the root of the folder its machine scanned).
    path: Option<std::path::PathBuf>,
}

pub struct Forest {
    report: ScanReport,
    /// The top rows: the trees (or the places that hold them), then the Unrelated and Skipped
    /// groups.
    tops: Vec<NodeId>,
    /// The folders the trees were found in, by name, when there are several; empty otherwise.
    places: Vec<Place>,
    children: HashMap<NodeId, Vec<NodeId>>,
    /// The row above each row.
    above: HashMap<NodeId, NodeId>,
    descendants: HashMap<NodeId, usize>,
    labels: Vec<ModelLabel>,
    /// Index into `recovery.edges` of the edge into each model.
    edge_into: Vec<Option<usize>>,
    /// The original of each duplicate copy.
    original_of: Vec<Option<usize>>,
    /// For a merge, its index in the recovery's merges (it also has an `original_of`: the
    /// source it hangs under).
    merge_of: Vec<Option<usize>>,
    /// Per tree (by its root), what the tensor table reads of the family: built once, because
    /// every frame asks for it (up to three times, once per panel).
    families: HashMap<usize, Family>,
    tree_count: usize,
    unrelated_count: usize,
}

impl Forest {
    pub fn new(report: ScanReport) -> Self {
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
        // A merge hangs, like a copy, under its main source; the panel names both.
        let mut merge_of = vec![None; count];
        for (index, merge) in report.recovery.merges.iter().enumerate() {
            let source = merge.sources[0];
            let in_range = merge.model < count && source < count && merge.model != source;
            if in_range && edge_into[merge.model].is_none() && original_of[merge.model].is_none() {
                original_of[merge.model] = Some(source);
                merge_of[merge.model] = Some(index);
                copies[source].push(merge.model);
            }
        }
        let id = |model: usize| report.models[model].entry.id.as_str();
        for list in children.iter_mut().chain(copies.iter_mut()) {
            list.sort_by(|a, b| id(*a).cmp(id(*b)));
        }

        // Tops of trees: the declared roots first, then any parentless model with children.
        let parented: Vec<bool> = (0..count)
            .map(|model| edge_into[model].is_some() || original_of[model].is_some())
            .collect();
        let has_parent = |model: usize| parented[model];
        let mut tree_tops: Vec<usize> = report
            .recovery
            .roots
            .iter()
            .copied()
            .filter(|&model| model < count && !has_parent(model))
            .collect();
        for (model, below) in children.iter().enumerate() {
            if !has_parent(model) && !below.is_empty() && !tree_tops.contains(&model) {
                tree_tops.push(model);
            }
        }

        let mut forest = Self {
            labels: Vec::with_capacity(count),
            report,
            tops: Vec::new(),
            places: Vec::new(),
            children: HashMap::new(),
            above: HashMap::new(),
            descendants: HashMap::new(),
            edge_into,
            original_of,
            merge_of,
            families: HashMap::new(),
            tree_count: 0,
            unrelated_count: 0,
        };
        let mut placed = vec![false; count];
        for &top in &tree_tops {
            forest.place(top, None, &children, &copies, &mut placed);
        }
        forest.tree_count = tree_tops.len();
        forest.group_by_place(&tree_tops);

        let mut unrelated: Vec<usize> = forest
            .report
            .recovery
            .unrelated
            .iter()
            .copied()
            .filter(|&model| model < count)
            .collect();
        unrelated.extend(0..count);
        // Parentless models first, in the recovery's order; then any model whose parent chain
        // never reached a top (a cycle in bad input), so every model still gets a row.
        let mut unrelated_rows = Vec::new();
        let candidates = unrelated
            .into_iter()
            .filter(|&model| !has_parent(model))
            .chain(0..count);
        for model in candidates {
            if !placed[model] {
                forest.place(
                    model,
                    Some(NodeId::Unrelated),
                    &children,
                    &copies,
                    &mut placed,
                );
                unrelated_rows.push(NodeId::Model(model));
            }
        }
        forest.unrelated_count = unrelated_rows.len();
        if !unrelated_rows.is_empty() {
            forest.tops.push(NodeId::Unrelated);
            forest.children.insert(NodeId::Unrelated, unrelated_rows);
        }
        if !forest.report.skipped.is_empty() {
            let files: Vec<NodeId> = (0..forest.report.skipped.len())
                .map(NodeId::SkippedFile)
                .collect();
            for &file in &files {
                forest.above.insert(file, NodeId::Skipped);
            }
            forest.tops.push(NodeId::Skipped);
            forest.children.insert(NodeId::Skipped, files);
        }
        forest.labels = (0..count).map(|model| forest.model_label(model)).collect();
        forest.families = forest.families();
        for top in forest.tops.clone() {
            forest.count_descendants(top);
        }
        forest
    }

    /// The top rows for the trees: their tops, or, when the tops were found in several folders
    /// (a scan of a folder of hub caches), one row per folder holding its trees, so that each
    /// cache reads as a scan of it alone would.
    fn group_by_place(&mut self, tree_tops: &[usize]) {
        let Some(places) = self.report.by_place(tree_tops) else {
            self.tops = tree_tops.iter().copied().map(NodeId::Model).collect();
            return;
        };
        let places: Vec<(Place, Vec<usize>)> = places
            .into_iter()
            .map(|(found_in, tops)| {
                let path = self.place_folder(found_in, tops[0]);
                let found_in = found_in.to_string();
                (Place { found_in, path }, tops)
            })
            .collect();
        for (index, (_, tops)) in places.iter().enumerate() {
            let place = NodeId::Place(index);
            for &top in tops {
                self.above.insert(NodeId::Model(top), place);
            }
            let rows = tops.iter().copied().map(NodeId::Model).collect();
            self.children.insert(place, rows);
            self.tops.push(place);
        }
        self.places = places.into_iter().map(|(place, _)| place).collect();
    }

    /// The folder `found_in` names, from the folder of `member`, a model found there: its
    /// ancestor that ends with the place's path (a bundle's model keeps the path it had on the
    /// machine that read it), or the scanned root for the root itself.
    fn place_folder(&self, found_in: &str, member: usize) -> Option<std::path::PathBuf> {
        let dir = &self.report.models[member].entry.dir;
        match found_in {
            "" => None,
            "." => dir
                .starts_with(&self.report.root)
                .then(|| self.report.root.clone()),
            place => dir
                .ancestors()
                .find(|folder| folder.ends_with(place))
                .map(std::path::Path::to_path_buf),
        }
    }

    /// How a place row names its folder ([`crate::discover::place_label`]).
    pub fn place_name(&self, place: usize) -> &str {
        self.places
            .get(place)
            .map_or("", |place| crate::discover::place_label(&place.found_in))
    }

    /// How many place rows group the trees (0 when they are not grouped).
    pub fn place_count(&self) -> usize {
        self.places.len()
    }

    /// Where a place row's folder is, when its models' paths say.
    pub fn place_path(&self, place: usize) -> Option<&std::path::Path> {
        self.places.get(place)?.path.as_deref()
    }

    /// What a place row holds: `4 trees · 40 models`.
    pub fn place_summary(&self, place: usize) -> String {
        let node = NodeId::Place(place);
        let trees = self.children_of(node).len();
        let models = self.descendants.get(&node).copied().unwrap_or(0);
        format!(
            "{} · {}",
            format::counted(trees, "tree", "trees"),
            format::counted(models, "model", "models")
        )
    }

    /// Every tree's family: its members (adapters aside: their matrices are other) and, per
    /// matrix name (read without wrapper prefixes) and shape, the members' kurtosis.
    fn families(&self) -> HashMap<usize, Family> {
        let mut families: HashMap<usize, Family> = HashMap::new();
        for (model, scanned) in self.report.models.iter().enumerate() {
            if matches!(scanned.entry.kind, ModelKind::Adapter { .. }) {
                continue;
            }
            let root = self.lineage(model).first().copied().unwrap_or(model);
            let family = families.entry(root).or_default();
            family.members += 1;
            let naming = Naming::of(&scanned.fingerprint);
            // One tensor per name, the last, as a name lookup in the model would find it.
            let by_name: HashMap<&str, &TensorFingerprint> = scanned
                .fingerprint
                .tensors
                .iter()
                .map(|tensor| (naming.canonical(&tensor.name), tensor))
                .collect();
            for (name, tensor) in by_name {
                let shapes = family.kurtosis.entry(name.to_string()).or_default();
                let kurtosis = tensor.moments.excess_kurtosis();
                match shapes.iter_mut().find(|(shape, _)| *shape == tensor.shape) {
                    Some((_, values)) => values.push(kurtosis),
                    None => shapes.push((tensor.shape.clone(), vec![kurtosis])),
                }
            }
        }
        families
    }

    /// The family of `model`'s tree, if it has one (adapters have none).
    pub fn family(&self, model: usize) -> Option<&Family> {
        let root = self.lineage(model).first().copied().unwrap_or(model);
        let scanned = self.report.models.get(model)?;
        if matches!(scanned.entry.kind, ModelKind::Adapter { .. }) {
            return None;
        }
        self.families.get(&root)
    }

    fn place(
        &mut self,
        model: usize,
        above: Option<NodeId>,
        children: &[Vec<usize>],
        copies: &[Vec<usize>],
        placed: &mut [bool],
    ) {
        placed[model] = true;
        let node = NodeId::Model(model);
        if let Some(above) = above {
            self.above.insert(node, above);
        }
        let mut below = Vec::new();
        for &child in children[model].iter().chain(&copies[model]) {
            if !placed[child] {
                self.place(child, Some(node), children, copies, placed);
                below.push(NodeId::Model(child));
            }
        }
        if !below.is_empty() {
            self.children.insert(node, below);
        }
    }

    fn count_descendants(&mut self, node: NodeId) -> usize {
        let below = self.children.get(&node).cloned().unwrap_or_default();
        let total = below
            .iter()
            .map(|&child| 1 + self.count_descendants(child))
            .sum();
        self.descendants.insert(node, total);
        total
    }

    pub fn report(&self) -> &ScanReport {
        &self.report
    }

    /// The top rows: one per tree, then the groups.
    pub fn tops(&self) -> &[NodeId] {
        &self.tops
    }

    /// The rows directly below a row, in name order.
    pub fn children_of(&self, node: NodeId) -> &[NodeId] {
        self.children.get(&node).map_or(&[], Vec::as_slice)
    }

    /// Every row that has rows below it, for opening the whole forest.
    pub fn branches(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.children.keys().copied()
    }

    /// The rows from the top of its tree down to `node`, inclusive.
    pub fn path(&self, node: NodeId) -> Vec<NodeId> {
        walk_up(node, |current| self.above.get(&current).copied())
    }

    /// The top row of the tree that holds `node`: a tree's top model, the Unrelated or Skipped
    /// group, or a place row itself (the rows below a place are trees of their own).
    pub fn top_of(&self, node: NodeId) -> NodeId {
        let path = self.path(node);
        match path.as_slice() {
            [NodeId::Place(_), below, ..] => *below,
            _ => path.first().copied().unwrap_or(node),
        }
    }

    /// Whether `node` is the top of a tree or group (not a place row, which holds trees).
    pub fn is_tree_top(&self, node: NodeId) -> bool {
        !matches!(node, NodeId::Place(_)) && self.top_of(node) == node
    }

    pub fn label(&self, model: usize) -> Option<&ModelLabel> {
        self.labels.get(model)
    }

    pub fn tree_count(&self) -> usize {
        self.tree_count
    }

    pub fn unrelated_count(&self) -> usize {
        self.unrelated_count
    }

    /// Models in the order the tree shows them with every row open, under `view`.
    pub fn order(&self, view: View) -> Vec<usize> {
        let all: HashSet<NodeId> = self.children.keys().copied().collect();
        self.rows(view, &all)
            .into_iter()
            .filter_map(|row| match row.node {
                NodeId::Model(model) => Some(model),
                _ => None,
            })
            .collect()
    }

    /// The rows on screen when the rows in `open` are open.
    pub fn rows(&self, view: View, open: &HashSet<NodeId>) -> Vec<Row> {
        let mut kept = HashMap::new();
        let tops: Vec<NodeId> = match view.filter {
            Filter::Tree(top) => vec![top],
            _ => self.tops.clone(),
        };
        let tops: Vec<NodeId> = self
            .sorted(&tops, view.sort)
            .into_iter()
            .filter(|&top| self.keep(top, view.filter, &mut kept))
            .collect();
        let mut rows = Vec::new();
        let count = tops.len();
        for (index, top) in tops.into_iter().enumerate() {
            self.push_rows(top, 0, "", index + 1 == count, view, open, &kept, &mut rows);
        }
        rows
    }

    #[allow(clippy::too_many_arguments)] // one recursive walk; a struct for it would say less
    fn push_rows(
        &self,
        node: NodeId,
        depth: usize,
        guide_above: &str,
        last: bool,
        view: View,
        open: &HashSet<NodeId>,
        kept: &HashMap<NodeId, (bool, bool)>,
        rows: &mut Vec<Row>,
    ) {
        let below: Vec<NodeId> = self
            .sorted(self.children_of(node), view.sort)
            .into_iter()
            .filter(|child| kept.get(child).is_some_and(|(keep, _)| *keep))
            .collect();
        let guide = if depth == 0 {
            String::new()
        } else {
            format!("{guide_above}{}", if last { '└' } else { '├' })
        };
        let is_open = open.contains(&node);
        rows.push(Row {
            node,
            depth,
            guide,
            last,
            has_children: !below.is_empty(),
            open: is_open,
            descendants: self.descendants.get(&node).copied().unwrap_or(0),
            matches_filter: kept.get(&node).is_some_and(|(_, own)| *own),
        });
        if !is_open {
            return;
        }
        let continued = if depth == 0 {
            String::new()
        } else {
            format!("{guide_above}{}", if last { "   " } else { "│  " })
        };
        let count = below.len();
        for (index, child) in below.into_iter().enumerate() {
            let last = index + 1 == count;
            self.push_rows(child, depth + 1, &continued, last, view, open, kept, rows);
        }
    }

    /// Whether the filter keeps `node` (for itself or for a kept row below it); records both
    /// answers for every row visited.
    fn keep(&self, node: NodeId, filter: Filter, kept: &mut HashMap<NodeId, (bool, bool)>) -> bool {
        let own = match (filter, node) {
            (Filter::All | Filter::Tree(_), _) => true,
            (Filter::Doubtful, NodeId::Model(model)) => self
                .edge_into(model)
                .is_some_and(|edge| edge.confidence < Level::HIGH),
            (Filter::Disagreeing, NodeId::Model(model)) => {
                self.declared(model) == Declared::Disagrees
            }
            (_, _) => false,
        };
        let mut below = false;
        for &child in self.children_of(node) {
            below |= self.keep(child, filter, kept);
        }
        kept.insert(node, (own || below, own));
        own || below
    }

    fn sorted(&self, nodes: &[NodeId], sort: SortOrder) -> Vec<NodeId> {
        let mut nodes = nodes.to_vec();
        let name = |node: &NodeId| match node {
            NodeId::Model(model) => self.id(*model).to_string(),
            _ => String::new(),
        };
        match sort {
            // Built in name order already; the groups stay last.
            SortOrder::Name => {}
            SortOrder::Confidence => nodes.sort_by(|a, b| {
                let confidence = |node: &NodeId| match node {
                    NodeId::Model(model) => self.edge_into(*model).map_or(2.0, |e| e.confidence),
                    _ => 3.0,
                };
                confidence(a)
                    .total_cmp(&confidence(b))
                    .then_with(|| name(a).cmp(&name(b)))
            }),
            SortOrder::Size => nodes.sort_by(|a, b| {
                let params = |node: &NodeId| match node {
                    NodeId::Model(model) => {
                        i128::from(self.report.models[*model].fingerprint.params)
                    }
                    _ => -1,
                };
                params(b)
                    .cmp(&params(a))
                    .then_with(|| name(a).cmp(&name(b)))
            }),
        }
        nodes
    }

    pub fn id(&self, model: usize) -> &str {
        &self.report.models[model].entry.id
    }

    /// The id without the repo's organisation, for narrow places: `mother-demo/full1-c1` reads
    /// `full1-c1`. A qualified id keeps where the model was found (`gentle1001/hub:full1-c1`),
    /// which is what tells it from its namesakes; a numbered one (`#2`) stays whole.
    pub fn short_id(&self, model: usize) -> String {
        let entry = &self.report.models[model].entry;
        let bare = entry.bare_id();
        let short = bare.rsplit('/').next().unwrap_or(bare);
        match (&entry.unqualified_id, entry.qualifier()) {
            (None, _) => short.to_string(),
            (Some(_), Some(qualifier)) => format!("{qualifier}{short}"),
            (Some(_), None) => entry.id.clone(),
        }
    }

    /// The id a tree row shows. A qualified id (`gentle1001/hub:org/name`) drops its place
    /// under a row of the same place (the place's own row, or a parent found there): that row
    /// names the cache once, and the rows below it read as in a scan of that cache alone. The
    /// evidence panel, `y` and every writer keep the whole id.
    fn row_id(&self, model: usize) -> String {
        let entry = &self.report.models[model].entry;
        let place_above = match self.above.get(&NodeId::Model(model)) {
            Some(NodeId::Place(place)) => self.places.get(*place).map(|place| &place.found_in),
            _ => self
                .parent(model)
                .map(|parent| &self.report.models[parent].entry.found_in),
        };
        if place_above == Some(&entry.found_in) && entry.qualifier().is_some() {
            entry.bare_id().to_string()
        } else {
            entry.id.clone()
        }
    }

    pub fn edge_into(&self, model: usize) -> Option<&Edge> {
        self.edge_into
            .get(model)
            .copied()
            .flatten()
            .map(|index| &self.report.recovery.edges[index])
    }

    /// The model a duplicate copies, or the main source a merge hangs under.
    pub fn original_of(&self, model: usize) -> Option<usize> {
        self.original_of.get(model).copied().flatten()
    }

    /// The undecided plane (`lineage::Undecided`) that holds both models, if any.
    pub fn undecided_plane(&self, a: usize, b: usize) -> Option<&Undecided> {
        self.report()
            .recovery
            .undecided_merges
            .iter()
            .find(|u| u.models.contains(&a) && u.models.contains(&b))
    }

    /// The model nearest a merge but above its sources (`lineage::MergeHub`) whose guessed
    /// edges include this one, if any.
    pub fn merge_hub(&self, parent: usize, child: usize) -> Option<&MergeHub> {
        self.report()
            .recovery
            .merge_hubs
            .iter()
            .find(|h| h.edges.contains(&(parent, child)))
    }

    /// The checkpoint-or-merge (`lineage::Recovery::checkpoints_or_merges`) whose models
    /// include both, if any.
    pub fn checkpoint_or_merge(&self, a: usize, b: usize) -> Option<&Merge> {
        self.report()
            .recovery
            .checkpoints_or_merges
            .iter()
            .find(|m| m.involves(a) && m.involves(b))
    }

    /// The merges made from this model (it is one of their sources), in model order.
    pub fn merges_made_from(&self, model: usize) -> Vec<&Merge> {
        self.report
            .recovery
            .merges
            .iter()
            .filter(|m| m.sources.contains(&model))
            .collect()
    }

    /// The merge this model is nearest, when it stays above that merge's sources as a
    /// possible merge hub (`lineage::MergeHub`).
    pub fn merge_nearest(&self, model: usize) -> Option<usize> {
        self.report
            .recovery
            .merge_hubs
            .iter()
            .find(|h| h.model == model)
            .map(|h| h.merge)
    }

    /// The merge this model is, if the recovery found it to be one.
    pub fn merge(&self, model: usize) -> Option<&Merge> {
        let index = self.merge_of.get(model).copied().flatten()?;
        self.report.recovery.merges.get(index)
    }

    /// The model's parent in the tree: the recovered parent, or the original of a copy.
    pub fn parent(&self, model: usize) -> Option<usize> {
        self.edge_into(model)
            .map(|edge| edge.parent)
            .or_else(|| self.original_of(model))
    }

    /// The chain from the root down to `model`, inclusive (cycle-safe); through a merge, by
    /// its main source.
    pub fn lineage(&self, model: usize) -> Vec<usize> {
        walk_up(model, |current| {
            self.edge_into(current)
                .map(|edge| edge.parent)
                .or_else(|| self.merge(current).map(|merge| merge.sources[0]))
        })
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

    /// Models whose id, or the folder it was found in below the scanned root, contains
    /// `query`, ignoring case, in the order `view` shows them. The folder counts because only
    /// repeated ids name it: in a scan of several hub caches, `l6-hub` finds every model of
    /// `l6-hub/hub`, not only those whose ids another cache repeats.
    pub fn search(&self, query: &str, view: View) -> Vec<usize> {
        let query = query.to_lowercase();
        if query.is_empty() {
            return Vec::new();
        }
        let matches = |model: usize| {
            let entry = &self.report.models[model].entry;
            entry.id.to_lowercase().contains(&query)
                || entry.found_in.to_lowercase().contains(&query)
        };
        self.order(view)
            .into_iter()
            .filter(|&model| matches(model))
            .collect()
    }

    pub fn declared(&self, model: usize) -> Declared {
        crate::engine::declared_status(&self.report, model, self.parent(model))
    }

    fn model_label(&self, model: usize) -> ModelLabel {
        let scanned = &self.report.models[model];
        let edge = self.edge_into(model);
        let mut badges = Vec::new();
        let mut confidence = None;
        let mut root = false;
        match (edge, self.original_of(model)) {
            (Some(edge), _) => {
                let (printed, level) = super::numbers::confidence(edge.confidence);
                // A low confidence is a guess, and the tree says so in the one word it has.
                let word = match level {
                    Level::Low => "guess",
                    _ => level.word(),
                };
                confidence = Some((printed, level, word));
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
                // A checkpoint that may be a merge of its neighbours, or a model nearest a merge
                // that may be its fine-tune placed as the sources' hub (`merge?` in its panel).
                let recovery = &self.report.recovery;
                if recovery
                    .checkpoints_or_merges
                    .iter()
                    .any(|m| m.model == model)
                    || recovery.merge_hubs.iter().any(|h| h.model == model)
                {
                    badges.push("merge?".to_string());
                }
            }
            (None, Some(_)) if self.merge(model).is_some() => badges.push("merge".to_string()),
            (None, Some(_)) => badges.push("dup".to_string()),
            (None, None) => root = self.children.contains_key(&NodeId::Model(model)),
        }
        // A PEFT adapter is an adapter whatever edge the weights gave it.
        let is_adapter = matches!(scanned.entry.kind, ModelKind::Adapter { .. });
        if is_adapter && !badges.iter().any(|badge| badge == "adapter") {
            badges.insert(0, "adapter".to_string());
        }
        let mut metadata_badges: Vec<String> = format_badge(scanned).into_iter().collect();
        match self.declared(model) {
            Declared::Agrees => metadata_badges.push("declared ✓".to_string()),
            Declared::Disagrees => metadata_badges.push("declared ✗".to_string()),
            Declared::None | Declared::NotScanned => {}
        }
        ModelLabel {
            id: self.row_id(model),
            params: format::si(scanned.fingerprint.params),
            confidence,
            root,
            badges,
            metadata_badges,
        }
    }
}

/// The format badge: none for plain safetensors (the default), else the format and, for
/// quantised files, the scheme (`gguf Q8_0`, `GPTQ-4bit`, `pickle`).
fn format_badge(scanned: &crate::engine::ScannedModel) -> Option<String> {
    let label = scanned.format_label();
    (label != "safetensors").then_some(label)
}

/// `start` and everything `above` it, from the top down; stops at the first repeat, so a cycle
/// in damaged input cannot loop.
fn walk_up<T: Copy + PartialEq>(start: T, above: impl Fn(T) -> Option<T>) -> Vec<T> {
    let mut chain = vec![start];
    let mut current = start;
    while let Some(next) = above(current) {
        if chain.contains(&next) {
            break;
        }
        chain.push(next);
        current = next;
    }
    chain.reverse();
    chain
}
