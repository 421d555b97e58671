import { buildApp } from './stack.ts';

buildApp().app.synth();
