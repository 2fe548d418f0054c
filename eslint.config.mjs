// Lint and format in one pass: typescript-eslint's recommended rules for correctness,
// and dprint (through @effect/eslint-plugin, as the Effect repositories do) for layout.
// The dprint settings describe the code as it is written: 2 spaces, no semicolons,
// double quotes, 120 columns, no trailing commas.
import * as effectEslint from "@effect/eslint-plugin"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["dist/**", "coverage/**", "node_modules/**", "scripts/smoke/**", "test/fixtures/**", "**/*.d.ts"]
  },
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    rules: {
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "conditionalExpression.operatorPosition": "nextLine",
            "conditionalExpression.linePerExpression": false,
            "arrayExpression.preferHanging": "always",
            "arrowFunction.useParentheses": "force",
            "module.sortImportDeclarations": "maintain",
            "module.sortExportDeclarations": "maintain",
            "importDeclaration.sortNamedImports": "maintain",
            "exportDeclaration.sortNamedExports": "maintain"
          }
        }
      ],
      "@typescript-eslint/no-unused-vars": ["error", {
        argsIgnorePattern: "^_",
        varsIgnorePattern: "^_",
        ignoreRestSiblings: true
      }],
      "@typescript-eslint/consistent-type-imports": "error",
      // type ids are annotated with their literal type, as Effect declares its own
      "@typescript-eslint/prefer-as-const": "off"
    }
  }
)
