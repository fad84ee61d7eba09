import type { ReactElement } from 'react';
import { toYamlLines } from '../yamlTokens';

/** A JSON value shown as highlighted YAML. */
export function YamlView({ value, label }: { value: unknown; label: string }): ReactElement {
  const lines = toYamlLines(value);
  return (
    <pre className="yaml" aria-label={label} tabIndex={0}>
      <code>
        {lines.map((line, index) => (
          <span key={index}>
            {line.map((token, at) => (token.type === 'indent' ? token.text : <span key={at} className={token.type}>{token.text}</span>))}
            {'\n'}
          </span>
        ))}
      </code>
    </pre>
  );
}
