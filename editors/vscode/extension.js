// The VS Code side of relais flows: starts `relais flows lsp` (the language server
// built into relais) for .flow files, so the editor shows `flows check`'s
// diagnostics as the author types, completes node names, resource keys and
// variables, jumps from a target to its node and shows a node's first line on hover.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('relaisFlows').get('command') || 'relais';
  const server = { command, args: ['flows', 'lsp'], transport: TransportKind.stdio };
  client = new LanguageClient(
    'relaisFlows',
    'relais flows',
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: 'file', language: 'relais-flow' }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.flow,ressources.toml,declencheurs.toml,traductions/*.txt}'),
      },
    },
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
