import { weightsDownloads, weightsFromFiles } from '@lenet/web';
import type { ModelChoice } from './model-choice';

/**
 * Weights in and out: download the model in use as TF.js files or as `.safetensors` (which the seed's PyTorch
 * LeNet_5 loads), and load weights from a picked or dropped file. A file that is not valid weights only gets a
 * message: the model in use stays as it was.
 */
export class WeightsPanel {
  private readonly status = document.getElementById('weights-status')!;

  constructor(private readonly models: ModelChoice) {
    const input = document.getElementById('weights-file') as HTMLInputElement;
    input.addEventListener('change', () => {
      void this.load(Array.from(input.files ?? []));
      input.value = ''; // picking the same file again loads it again
    });
    const drop = document.getElementById('weights-drop')!;
    drop.addEventListener('dragover', (event) => {
      event.preventDefault();
      drop.dataset['over'] = 'true';
    });
    drop.addEventListener('dragleave', () => {
      drop.dataset['over'] = 'false';
    });
    drop.addEventListener('drop', (event) => {
      event.preventDefault();
      drop.dataset['over'] = 'false';
      void this.load(Array.from(event.dataTransfer?.files ?? []));
    });
    document.getElementById('download-tfjs')!.addEventListener('click', () => void this.download('tfjs'));
    document
      .getElementById('download-safetensors')!
      .addEventListener('click', () => void this.download('safetensors'));
  }

  private async load(files: File[]): Promise<void> {
    if (files.length === 0) return;
    const names = files.map((file) => file.name).join(' + ');
    this.say('loading', `Reading ${names}…`);
    try {
      const loaded = await weightsFromFiles(files);
      this.models.setLoaded(loaded, names);
      const note = loaded.preprocessingRecorded
        ? ''
        : ' They do not say how their inputs were prepared; the usual preprocessing for that format is assumed.';
      this.say('loaded', `Loaded ${names} (${loaded.format}); it is the model in use now.${note}`);
    } catch (error) {
      this.say('error', `${(error as Error).message} The model in use is unchanged.`);
    }
  }

  private async download(format: 'tfjs' | 'safetensors'): Promise<void> {
    const { model, preprocessing } = this.models.inUse.weights;
    const files = await weightsDownloads(model, preprocessing, { source: this.models.inUse.label });
    const wanted = files.filter((file) => (format === 'safetensors') === file.name.endsWith('.safetensors'));
    for (const file of wanted) {
      const url = URL.createObjectURL(new Blob([file.bytes], { type: file.type }));
      const link = document.createElement('a');
      link.href = url;
      link.download = file.name;
      link.click();
      // The download has started from the object URL by the next task; keep it a moment for slow browsers.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }
    this.say('saved', `Saved ${wanted.map((file) => file.name).join(' + ')} of ${this.models.inUse.label}.`);
  }

  private say(state: string, text: string): void {
    this.status.dataset['state'] = state;
    this.status.textContent = text;
  }
}
