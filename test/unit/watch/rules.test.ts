import {describe, expect, it} from 'vitest'

import type {WatchRule} from '../../../src/compose/model.js'
import {compileRule, containerPathFor, isEmptyPlan, planChanges, ruleMatch} from '../../../src/watch/rules.js'

const api = '/ws/services/admin-api'
const sync: WatchRule = {path: `${api}/app`, action: 'sync', target: '/app/app', ignore: ['**/__pycache__/']}
const rebuild: WatchRule = {path: `${api}/requirements.txt`, action: 'rebuild'}

describe('watch rule selection', () => {
  it('maps a changed file under a sync rule to its container path', () => {
    const plan = planChanges([compileRule(sync), compileRule(rebuild)], [{path: `${api}/app/main.py`, exists: true}])
    expect(plan.copy).toEqual([{hostPath: `${api}/app/main.py`, containerPath: '/app/app/main.py'}])
    expect(plan.rebuild).toBe(false)
    expect(plan.actions).toEqual(['sync'])
  })

  it('a deleted file is removed, an ignored one is not touched', () => {
    const plan = planChanges([compileRule(sync)], [
      {path: `${api}/app/old.py`, exists: false},
      {path: `${api}/app/__pycache__/main.cpython-311.pyc`, exists: true},
      {path: `${api}/app/.git/HEAD`, exists: true},
    ])
    expect(plan.remove).toEqual([{hostPath: `${api}/app/old.py`, containerPath: '/app/app/old.py'}])
    expect(plan.copy).toEqual([])
  })

  it('a rebuild wins over syncs in the same batch', () => {
    const plan = planChanges([compileRule(sync), compileRule(rebuild)], [
      {path: `${api}/app/main.py`, exists: true},
      {path: `${api}/requirements.txt`, exists: true},
    ])
    expect(plan.rebuild).toBe(true)
    expect(plan.copy).toEqual([])
  })

  it('paths outside every rule, and a sibling with a common prefix, do nothing', () => {
    const plan = planChanges([compileRule(sync), compileRule(rebuild)], [
      {path: `${api}/README.md`, exists: true},
      {path: `${api}/application/x.py`, exists: true},
      {path: `${api}/requirements.txt.bak`, exists: true},
    ])
    expect(isEmptyPlan(plan)).toBe(true)
  })

  it('include keeps only matching files; sync+restart and sync+exec add their step', () => {
    const rules = [
      compileRule({path: '/ws/web', action: 'sync+restart', target: '/srv', include: ['*.conf']}),
      compileRule({path: '/ws/js', action: 'sync+exec', target: '/js', exec: {command: ['npm', 'run', 'build']}}),
    ]
    const plan = planChanges(rules, [
      {path: '/ws/web/site.conf', exists: true},
      {path: '/ws/web/notes.txt', exists: true},
      {path: '/ws/js/a.js', exists: true},
    ])
    expect(plan.copy.map((op) => op.containerPath)).toEqual(['/srv/site.conf', '/js/a.js'])
    expect(plan.restart).toBe(true)
    expect(plan.exec).toEqual([{command: ['npm', 'run', 'build']}])
  })

  it('.dockerignore of the build context applies, relative to the context', () => {
    const compiled = compileRule(sync, api, ['app/secrets/', '*.log'])
    expect(ruleMatch(compiled, `${api}/app/secrets/key.py`)).toBeUndefined()
    expect(ruleMatch(compiled, `${api}/app/main.py`)).toBe('main.py')
    expect(containerPathFor({path: '/x', action: 'sync', target: '/app/'}, 'a/b.py')).toBe('/app/a/b.py')
  })
})
