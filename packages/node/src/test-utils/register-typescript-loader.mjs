// `node --import <this file>`: registers ./typescript-loader.mjs (see there). Tests only.
import { register } from 'node:module';

register('./typescript-loader.mjs', import.meta.url);
