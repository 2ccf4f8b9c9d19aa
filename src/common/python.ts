// Which Python runs the PyTorch engine: the bertLab.pythonPath setting, else the interpreter chosen in
// the Python extension (ms-python.python's environments API). Every step is guarded: the extension may be
// absent, inactive, or an older one without that API.
import * as vscode from 'vscode';

interface PythonEnvironmentsApi {
  getActiveEnvironmentPath(resource?: vscode.Uri): { path: string } | undefined;
  resolveEnvironment(env: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
}

/** The interpreter selected in the Python extension for `resource`, or undefined. */
export async function pythonFromExtension(resource?: vscode.Uri): Promise<string | undefined> {
  try {
    const ext = vscode.extensions.getExtension<{ environments?: PythonEnvironmentsApi }>('ms-python.python');
    if (!ext) return undefined;
    const api = ext.isActive ? ext.exports : await ext.activate();
    const envs = api?.environments;
    if (!envs || typeof envs.getActiveEnvironmentPath !== 'function' || typeof envs.resolveEnvironment !== 'function') return undefined;
    const active = envs.getActiveEnvironmentPath(resource);
    if (!active?.path) return undefined;
    const resolved = await envs.resolveEnvironment(active);
    const path = resolved?.executable?.uri?.fsPath;
    return typeof path === 'string' && path.trim() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** bertLab.pythonPath when set, else the Python extension's interpreter, else undefined (the engine searches PATH). */
export async function findPython(setting: string | undefined, resource?: vscode.Uri): Promise<string | undefined> {
  if (setting && setting.trim()) return setting.trim();
  return pythonFromExtension(resource);
}
