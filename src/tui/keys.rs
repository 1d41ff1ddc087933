//! The one key table. The handler looks keys up here, and the help screen and the help bar are
//! drawn from the same rows, so a key and its help can never drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where the user is; each context has its own set of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// The scan progress view.
    Scan,
    /// The tree has focus.
    Tree,
    /// One of the panels beside the tree has focus.
    Panels,
    /// The tensor view covers the body.
    Tensors,
    /// The help screen is open.
    Help,
    /// Typing into the search or export prompt.
    Prompt,
    /// Asked whether to overwrite an existing file.
    Confirm,
    /// The screen is below the smallest size the layout is drawn for: it only says so, and only
    /// quitting acts, so no key changes what the user cannot see.
    TooSmall,
}

impl Context {
    /// Contexts in the order the help screen lists them.
    pub const ALL: [Context; 8] = [
        Context::Tree,
        Context::Panels,
        Context::Tensors,
        Context::Scan,
        Context::Prompt,
        Context::Confirm,
        Context::Help,
        Context::TooSmall,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Context::Scan => "Scan",
            Context::Tree => "Tree",
            Context::Panels => "Panels",
            Context::Tensors => "Tensor view",
            Context::Help => "Help screen",
            Context::Prompt => "Search and export prompts",
            Context::Confirm => "Overwrite question",
            Context::TooSmall => "Terminal too small",
        }
    }
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Up,
    Down,
    Collapse,
    Expand,
    Toggle,
    First,
    Last,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    NextTree,
    PreviousTree,
    CollapseAll,
    ExpandAll,
    Search,
    NextMatch,
    PreviousMatch,
    JumpToParent,
    /// Along a merge: from a merge to a source it does not hang under, from a source to its
    /// merge, from a model nearest a merge (a possible merge hub) to that merge.
    JumpAlongMerge,
    JumpBack,
    Filter,
    Sort,
    CopyId,
    CopyPath,
    /// Esc outside prompts: clears a filter or a search, never quits.
    Back,
    Tensors,
    CloseTensors,
    FocusNext,
    FocusPrevious,
    Export,
    Rescan,
    Help,
    Quit,
    CloseHelp,
    Accept,
    Cancel,
    DeleteChar,
    ClearInput,
    Overwrite,
    KeepFile,
}

/// One key: a code and its modifiers (Shift is folded into the character, so never listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    /// The key a terminal event stands for. Terminals report `G` as Shift+`G` and Shift+Tab
    /// as Shift+BackTab; the shift is already in the code, so it is dropped.
    pub fn from_event(event: &KeyEvent) -> Self {
        Self {
            code: event.code,
            modifiers: event.modifiers.difference(KeyModifiers::SHIFT),
        }
    }

    /// How the key is written in help: `↑`, `Enter`, `Ctrl-c`, `G`.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".to_string(),
            KeyCode::Tab => "Tab".to_string(),
            KeyCode::BackTab => "Shift-Tab".to_string(),
            KeyCode::Backspace => "Backspace".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::Home => "Home".to_string(),
            KeyCode::End => "End".to_string(),
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct KeyBinding {
    pub keys: &'static [Key],
    pub action: Command,
    /// The line in the help screen.
    pub help: &'static str,
    /// The word in the bottom help bar; `None` keeps the row out of the bar.
    pub bar: Option<&'static str>,
    /// Where the keys work. The help screen lists the row under the first.
    pub contexts: &'static [Context],
}

const TREE_AND_PANELS: &[Context] = &[Context::Tree, Context::Panels];
const BROWSING: &[Context] = &[Context::Tree, Context::Panels, Context::Scan];
const BROWSING_AND_TENSORS: &[Context] = &[
    Context::Tree,
    Context::Panels,
    Context::Scan,
    Context::Tensors,
];
/// Where quitting works: everywhere nothing is open to close, and on a screen too small to draw.
const QUIT_CONTEXTS: &[Context] = &[
    Context::Tree,
    Context::Panels,
    Context::Scan,
    Context::Tensors,
    Context::TooSmall,
];
/// Where a page move works: the tree, the panels, help and the tensor view.
const PAGE_MOVES: &[Context] = &[
    Context::Tree,
    Context::Panels,
    Context::Help,
    Context::Tensors,
];
/// Where a row-by-row move works: those, and the scan table while it fills.
const ROW_MOVES: &[Context] = &[
    Context::Tree,
    Context::Panels,
    Context::Scan,
    Context::Help,
    Context::Tensors,
];

/// Every key mother understands.
pub const KEYS: &[KeyBinding] = &[
    KeyBinding {
        keys: &[Key::plain(KeyCode::Up), Key::char('k')],
        action: Command::Up,
        help: "up: select (tree, charts) or scroll (evidence, lists)",
        bar: Some("move"),
        contexts: ROW_MOVES,
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Down), Key::char('j')],
        action: Command::Down,
        help: "down: select (tree, charts) or scroll (evidence, lists)",
        bar: None,
        contexts: ROW_MOVES,
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Left), Key::char('h')],
        action: Command::Collapse,
        help: "collapse the node, or go to its parent row",
        bar: None,
        contexts: &[Context::Tree],
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Right), Key::char('l')],
        action: Command::Expand,
        help: "expand the node",
        bar: None,
        contexts: &[Context::Tree],
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Enter), Key::char(' ')],
        action: Command::Toggle,
        help: "open or close the node",
        bar: Some("open"),
        contexts: &[Context::Tree],
    },
    KeyBinding {
        keys: &[Key::char('g'), Key::plain(KeyCode::Home)],
        action: Command::First,
        help: "first row",
        bar: None,
        contexts: ROW_MOVES,
    },
    KeyBinding {
        keys: &[Key::char('G'), Key::plain(KeyCode::End)],
        action: Command::Last,
        help: "last row",
        bar: None,
        contexts: ROW_MOVES,
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::PageUp)],
        action: Command::PageUp,
        help: "one page up",
        bar: None,
        contexts: PAGE_MOVES,
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::PageDown)],
        action: Command::PageDown,
        help: "one page down",
        bar: None,
        contexts: PAGE_MOVES,
    },
    KeyBinding {
        keys: &[Key::ctrl('u')],
        action: Command::HalfPageUp,
        help: "half a page up",
        bar: None,
        contexts: PAGE_MOVES,
    },
    KeyBinding {
        keys: &[Key::ctrl('d')],
        action: Command::HalfPageDown,
        help: "half a page down",
        bar: None,
        contexts: PAGE_MOVES,
    },
    KeyBinding {
        keys: &[Key::char(']')],
        action: Command::NextTree,
        help: "next tree (its top row)",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('[')],
        action: Command::PreviousTree,
        help: "previous tree",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('-')],
        action: Command::CollapseAll,
        help: "collapse all: only the top rows",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('+'), Key::char('=')],
        action: Command::ExpandAll,
        help: "expand all",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('/')],
        action: Command::Search,
        help: "search models by id or folder (incremental)",
        bar: Some("search"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('n')],
        action: Command::NextMatch,
        help: "next search match (wraps)",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('N')],
        action: Command::PreviousMatch,
        help: "previous search match (wraps)",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('p')],
        action: Command::JumpToParent,
        help: "jump to the recovered parent",
        bar: Some("parent"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('m')],
        action: Command::JumpAlongMerge,
        help: "along a merge: other source, merge of this or nearest",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::ctrl('o'), Key::plain(KeyCode::Backspace)],
        action: Command::JumpBack,
        help: "back to where p, m, a search or a tree jump came from",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('f')],
        action: Command::Filter,
        help: "filter: below high, declared ✗, this tree, all",
        bar: Some("filter"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('s')],
        action: Command::Sort,
        help: "sort siblings: name, confidence (lowest first), size",
        bar: Some("sort"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('y')],
        action: Command::CopyId,
        help: "copy the selected id to the clipboard (OSC 52)",
        bar: Some("copy"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('Y')],
        action: Command::CopyPath,
        help: "copy the selected model's folder path",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('t')],
        action: Command::Tensors,
        help: "tensor view: each matrix against the parent (Esc closes)",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('t'), Key::plain(KeyCode::Esc)],
        action: Command::CloseTensors,
        help: "close the tensor view",
        bar: Some("close"),
        contexts: &[Context::Tensors],
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Tab)],
        action: Command::FocusNext,
        help: "focus the next pane: tree, evidence, layers, lineage",
        bar: Some("panels"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::BackTab)],
        action: Command::FocusPrevious,
        help: "focus the previous pane",
        bar: None,
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('e')],
        action: Command::Export,
        help: "export the forest as Graphviz DOT",
        bar: Some("export"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('r')],
        action: Command::Rescan,
        help: "scan again",
        bar: Some("rescan"),
        contexts: TREE_AND_PANELS,
    },
    KeyBinding {
        keys: &[Key::char('?')],
        action: Command::Help,
        help: "this help",
        bar: Some("help"),
        contexts: BROWSING_AND_TENSORS,
    },
    KeyBinding {
        keys: &[Key::char('q'), Key::ctrl('c')],
        action: Command::Quit,
        help: "quit (cancels a running scan)",
        bar: Some("quit"),
        contexts: QUIT_CONTEXTS,
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Esc)],
        action: Command::Back,
        help: "back out: clear the filter, then the search",
        bar: None,
        contexts: BROWSING,
    },
    KeyBinding {
        keys: &[Key::char('?'), Key::char('q'), Key::plain(KeyCode::Esc)],
        action: Command::CloseHelp,
        help: "close the help",
        bar: Some("close"),
        contexts: &[Context::Help],
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Enter)],
        action: Command::Accept,
        help: "accept",
        bar: Some("accept"),
        contexts: &[Context::Prompt],
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Esc), Key::ctrl('c')],
        action: Command::Cancel,
        help: "cancel",
        bar: Some("cancel"),
        contexts: &[Context::Prompt],
    },
    KeyBinding {
        keys: &[Key::plain(KeyCode::Backspace)],
        action: Command::DeleteChar,
        help: "delete the last character (other keys type)",
        bar: None,
        contexts: &[Context::Prompt],
    },
    KeyBinding {
        keys: &[Key::ctrl('u')],
        action: Command::ClearInput,
        help: "clear the input",
        bar: Some("clear"),
        contexts: &[Context::Prompt],
    },
    KeyBinding {
        keys: &[Key::char('y')],
        action: Command::Overwrite,
        help: "overwrite the existing file",
        bar: Some("overwrite"),
        contexts: &[Context::Confirm],
    },
    KeyBinding {
        keys: &[Key::char('n'), Key::plain(KeyCode::Esc), Key::ctrl('c')],
        action: Command::KeepFile,
        help: "keep the existing file",
        bar: Some("keep"),
        contexts: &[Context::Confirm],
    },
];

/// What the mouse does, for the help screen, beside the keys; `App::handle_mouse` does it. It
/// works where no help, prompt or question is open and the screen is big enough.
pub const MOUSE: &[(&str, &str)] = &[
    (
        "click",
        "select a row of the tree (and focus it); click it again to open or close it",
    ),
    (
        "wheel",
        "scroll the scan list, the tensor view, or the evidence when it has focus; \
         elsewhere move the tree's selection",
    ),
];

/// The command bound to a key event in a context, if any.
pub fn command_for(context: Context, event: &KeyEvent) -> Option<Command> {
    let key = Key::from_event(event);
    bindings(context)
        .find(|binding| binding.keys.contains(&key))
        .map(|binding| binding.action)
}

/// The rows that apply in a context, in table order.
pub fn bindings(context: Context) -> impl Iterator<Item = &'static KeyBinding> {
    KEYS.iter()
        .filter(move |binding| binding.contexts.contains(&context))
}

/// The keys of a row joined for display: `↑ k`.
pub fn keys_label(binding: &KeyBinding) -> String {
    binding
        .keys
        .iter()
        .map(Key::label)
        .collect::<Vec<_>>()
        .join(" ")
}
