import { contextBridge, ipcRenderer } from 'electron';
import { createStudioBridge } from './studio-bridge';

contextBridge.exposeInMainWorld('studio', createStudioBridge(ipcRenderer));
