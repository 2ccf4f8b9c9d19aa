// The PyTorch engine's public API for the extension and the CLI (no vscode imports here):
//   installTorchEngine(storageDir, { onLog, signal }) -> probe   ("BERT Lab: Install PyTorch Engine";
//                                                                  then set bertLab.pythonPath to probe.python)
//   venvPython(storageDir)       the interpreter that install creates (use it when bertLab.pythonPath is empty)
//   findTorch(python?)           the first interpreter whose torch works, or a one-line error saying how to get one
//   probeTorch(python)           torch version / CUDA / MPS of one interpreter (cached, with a timeout)
//   selectEngine(pref, python?)  which engine a run with --backend pref gets
export { installTorchEngine, venvPython, type InstallOptions } from './install';
export { findTorch, probeTorch, pythonCandidates, pythonPackageDir, type TorchProbe } from './python';
export { selectEngine, isTorchPreference, type EngineChoice } from './select';
