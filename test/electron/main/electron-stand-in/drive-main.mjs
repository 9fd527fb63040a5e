/**
 * Loads a built main bundle (argv[2]) against the Electron stand-in, exercises what it
 * registered the way Chromium would, and prints the observations as one JSON line.
 */
const bundle = process.argv[2];
await import(bundle);
const recorded = globalThis.electronStandIn;
await new Promise((resolve) => setTimeout(resolve, 200));

const studioPage = { senderFrame: { url: 'gds-app://studio/index.html', parent: null } };
const otherSite = { senderFrame: { url: 'https://example.com/', parent: null } };
const appPages = recorded.protocolHandlers.get('gds-app');
const images = recorded.protocolHandlers.get('studio-image');

async function fetchWith(handler, url) {
  const response = await handler(new Request(url));
  return { status: response.status, type: response.headers.get('content-type'), csp: response.headers.get('content-security-policy') };
}

function decide(register, ...args) {
  return new Promise((resolve) => register(...args, resolve));
}

/** A web contents as Electron hands it to `web-contents-created`, recording what the app decides. */
function hardenedContents() {
  const listeners = new Map();
  const contents = {
    on: (event, listener) => listeners.set(event, listener),
    setWindowOpenHandler: (handler) => (contents.openHandler = handler),
  };
  recorded.appListeners.get('web-contents-created')({}, contents);
  const navigationAllowed = (event, url) => {
    let prevented = false;
    listeners.get(event)({ url, preventDefault: () => (prevented = true) });
    return !prevented;
  };
  return {
    reload: navigationAllowed('will-navigate', 'gds-app://studio/index.html'),
    toOtherSite: navigationAllowed('will-navigate', 'https://example.com/'),
    redirectToFile: navigationAllowed('will-redirect', 'file:///etc/passwd'),
    webviewAttached: navigationAllowed('will-attach-webview', 'gds-app://studio/index.html'),
    newWindow: contents.openHandler({ url: 'https://example.com/' }).action,
  };
}

const [window] = recorded.windows;
const observations = {
  errorBox: recorded.errorBox ?? null,
  schemes: recorded.schemes.map((entry) => entry.scheme),
  singleInstance: recorded.appListeners.has('second-instance'),
  webPreferences: window?.options.webPreferences ?? null,
  loadedUrl: window?.loadedUrl ?? null,
  channels: [...recorded.ipcHandlers.keys()].sort(),
  indexPage: await fetchWith(appPages, 'gds-app://studio/index.html'),
  script: await fetchWith(appPages, 'gds-app://studio/assets/app.js'),
  escape: await fetchWith(appPages, 'gds-app://studio/%2e%2e/%2e%2e/package.json'),
  missingImage: await fetchWith(images, 'studio-image://images/sample/1.png'),
  listModels: await recorded.ipcHandlers.get('models:list')(studioPage),
  fromOtherSite: await recorded.ipcHandlers.get('models:list')(otherSite),
  badPayload: await recorded.ipcHandlers.get('models:load')(studioPage, { modelId: 5 }),
  remoteRequest: await decide(recorded.session.beforeRequest, { url: 'https://cdn.example.com/lib.js' }),
  navigation: hardenedContents(),
  cameraPermission: await decide(recorded.session.permissionRequest, { getURL: () => 'gds-app://studio/index.html' }, 'media'),
};

/** A short guided run of the model in the user-data models folder, answered through IPC and the worker. */
async function sampleThroughIpc() {
  const invoke = (channel, payload) => recorded.ipcHandlers.get(channel)(studioPage, payload);
  const request = { modelId: 'tiny-test', classIndex: 1, mode: 'unconditional+classifier', scale: 4, sampler: 'ddim', steps: 'ddim5', seeds: [7], batchSize: 1, provider: 'cpu' };
  const started = await invoke('run:start', { request, recordTrajectory: false });
  const deadline = Date.now() + 60_000;
  let finished = null;
  while (finished === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    finished = window.sent.map(([, event]) => event).find((event) => event.type === 'finished') ?? null;
  }
  const page = await invoke('gallery:list', {});
  const sampleId = page.ok ? page.result.items[0]?.id : undefined;
  return {
    started: started.ok,
    eventChannels: [...new Set(window.sent.map(([channel]) => channel))],
    eventTypes: [...new Set(window.sent.map(([, event]) => event.type))],
    finished,
    samples: page.ok ? page.result.items.length : -1,
    image: sampleId ? await fetchWith(images, `studio-image://images/sample/${sampleId}.png`) : null,
  };
}
if (process.argv[3] === 'sample') observations.run = await sampleThroughIpc();

recorded.appListeners.get('before-quit')?.({ preventDefault() {} });
await new Promise((resolve) => setTimeout(resolve, 300));
observations.quitAfterClosing = recorded.quitCalled === true;
console.log(JSON.stringify(observations));
process.exit(0);
