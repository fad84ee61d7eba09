export { commitFiles, type CommitFilesOptions, type GitIdentity } from './commitFiles.js';
export { GitCliRepo, type CommitInfo, type PathLogEntry, type TreeChange, type TreeEntry } from './GitCliRepo.js';
export { GitError, type GitErrorCode } from './GitError.js';
export { hashBlob } from './hashBlob.js';
export { initRepo, type InitRepoOptions } from './initRepo.js';
export { runGit, type RunGitOptions } from './runGit.js';
export { ESTATE_PREFIXES, IncrementalEstateLoader, loadCommitEstate, loadWorkTreeEstate } from './estateReader.js';
export { assetHistory, type AssetHistoryEntry, type AssetHistoryOptions } from './assetHistory.js';
