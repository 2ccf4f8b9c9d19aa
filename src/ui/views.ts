// A TreeDataProvider over the plain TreeNode model of treeModel.ts.
import * as vscode from 'vscode';
import type { TreeNode } from './treeModel';

export class NodeTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private nodes: TreeNode[] = [];
  private readonly parents = new Map<string, TreeNode | undefined>();
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  setNodes(nodes: TreeNode[]): void {
    this.nodes = nodes;
    this.parents.clear();
    const walk = (list: TreeNode[], parent: TreeNode | undefined) => {
      for (const n of list) { this.parents.set(n.id, parent); if (n.children) walk(n.children, n); }
    };
    walk(nodes, undefined);
    this.changed.fire(undefined);
  }

  /** Finds a node by id (for reveal). */
  find(id: string): TreeNode | undefined {
    const walk = (list: TreeNode[]): TreeNode | undefined => {
      for (const n of list) { if (n.id === id) return n; const c = n.children && walk(n.children); if (c) return c; }
      return undefined;
    };
    return walk(this.nodes);
  }

  getTreeItem(n: TreeNode): vscode.TreeItem {
    const state = n.children ? (n.expanded === false ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.Expanded) : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(n.label, state);
    item.id = n.id;
    item.description = n.description;
    item.tooltip = n.tooltip;
    item.contextValue = n.contextValue;
    if (n.icon) item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
    if (n.command) item.command = n.command;
    return item;
  }

  getChildren(n?: TreeNode): TreeNode[] {
    return n ? n.children ?? [] : this.nodes;
  }

  getParent(n: TreeNode): TreeNode | undefined {
    return this.parents.get(n.id);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/**
 * The placeholder shown while BERT Lab starts (`"when": "!bertLab.ready"`). After a window reload VS Code
 * draws the restored side bar before the extension host runs: tree views without a provider say "There is
 * no data provider registered…", while an unresolved webview view stays blank. So the tree views wait for
 * `bertLab.ready` and this view keeps the container open meanwhile. Static text, no script.
 */
export const STARTING_VIEW_ID = 'bertLab.starting';
export const startingViewProvider: vscode.WebviewViewProvider = {
  resolveWebviewView(view) {
    view.webview.options = { enableScripts: false, localResourceRoots: [] };
    view.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">`
      + `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`
      + `</head><body style="color: var(--vscode-descriptionForeground); font-family: var(--vscode-font-family)">Starting BERT Lab…</body></html>`;
  },
};
