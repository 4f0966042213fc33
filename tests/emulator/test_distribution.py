# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The emulator as users get it (`make emulator-dist`): its wheel in an empty virtualenv, started from the console
script, serving the demo playbook; and the guide "Test your playbooks without a Windows server" run as written.

One module-scoped virtualenv: the wheel alone first (the demo playbook runs with the test venv's ansible-playbook
and the collection copy), then the guide's GitHub Actions steps and GitLab CI job install Ansible into it, as a
CI runner would, and run the guide's playbook. The locally built wheel and collection tarball stand in for the
guide's MIM_CM_EMULATOR and MIM_CM_COLLECTION; pip installs the rest as configured on this machine.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDE = COLLECTION_ROOT / 'docs' / 'docsite' / 'rst' / 'testing_without_windows.rst'
TEST_BIN = pathlib.Path(sys.executable).parent


def run(command, **kwargs):
    kwargs.setdefault('timeout', 600)
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, '%s failed (%d):\n%s\n%s' % (command, result.returncode, result.stdout[-3000:], result.stderr[-3000:])
    return result


def clean_env(**extra):
    """This process's environment without what points into the test venv or the collection copy."""
    env = dict((name, value) for name, value in os.environ.items()
               if not name.startswith(('ANSIBLE_', 'MIM_CM_', 'VIRTUAL_ENV', 'PYTHON')) and name not in ('PATH',))
    env.update(PATH='/usr/bin:/bin', ANSIBLE_LOCALHOST_WARNING='false', ANSIBLE_INVENTORY_UNPARSED_WARNING='false')
    env.update(dict((name, str(value)) for name, value in extra.items()))
    return env


@pytest.fixture(scope='module')
def dist(tmp_path_factory):
    """The wheel, the collection tarball and an empty virtualenv with only the wheel (and its dependencies) in it."""
    work = tmp_path_factory.mktemp('dist')
    source = work / 'emulator-source'  # a copy: building writes build/ and *.egg-info next to the sources
    shutil.copytree(str(COLLECTION_ROOT / 'emulator'), str(source), ignore=shutil.ignore_patterns('*.egg-info', 'build', '__pycache__'))
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--wheel-dir', work / 'wheels', source])
    wheels = list((work / 'wheels').glob('mim_cm_emulator-*.whl'))
    assert len(wheels) == 1
    run([TEST_BIN / 'ansible-galaxy', 'collection', 'build', COLLECTION_ROOT, '--output-path', work / 'tarball'], cwd=str(work))
    tarballs = list((work / 'tarball').glob('mim-cm-*.tar.gz'))
    assert len(tarballs) == 1
    venv = work / 'venv'
    run([sys.executable, '-m', 'venv', venv])
    run([venv / 'bin' / 'python', '-m', 'pip', 'install', '--quiet', wheels[0]], env=clean_env(PATH='%s:/usr/bin:/bin' % (venv / 'bin')))
    return {'work': work, 'wheel': wheels[0], 'tarball': tarballs[0], 'venv': venv}


def test_the_wheel_alone_serves_the_demo_playbook(dist, tmp_path):
    venv_bin = dist['venv'] / 'bin'
    installed = run([venv_bin / 'python', '-m', 'pip', 'list', '--format', 'json']).stdout
    names = set(package['name'].lower() for package in json.loads(installed))
    assert 'mim-cm-emulator' in names and 'ansible-core' not in names and 'requests' not in names  # an empty venv plus the wheel
    state = tmp_path / 'state'
    started = run([venv_bin / 'mim-cm-emulator', '--detach', '--state-dir', state], env=clean_env())
    url, ready = started.stdout.splitlines()[0], json.loads(started.stdout.splitlines()[1])
    try:
        command = pathlib.Path('/proc/%d/cmdline' % ready['pid']).read_bytes().split(b'\0')
        assert command[0].decode() == str(venv_bin / 'python') and command[1:3] == [b'-m', b'mim_cm_emulator']  # the venv's, detached
        env = clean_env(PATH='%s:/usr/bin:/bin' % TEST_BIN, ANSIBLE_COLLECTIONS_PATH=COLLECTION_ROOT.parents[2],
                        MIM_CM_URL=url, MIM_CM_CA_PATH=ready['ca_path'], MIM_CM_USERNAME='CONTOSO\\cmadmin', MIM_CM_PASSWORD='NotASecret-Admin-2026')
        playbook = [TEST_BIN / 'ansible-playbook', '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
                    COLLECTION_ROOT / 'demo' / 'playbook.yml']
        first = run_approving(playbook, ready, env=env).stdout
        after_first = len(changes_sent(state))
        second = run(playbook, env=env).stdout
        assert re.search(r'localhost\s+: ok=4\s+changed=2 ', first) and re.search(r'localhost\s+: ok=4\s+changed=0 ', second)
        assert changes_sent(state) == ['POST', 'PUT'] and after_first == 2  # submitted and completed once; the second run sends nothing
    finally:
        stopped = run([venv_bin / 'mim-cm-emulator', '--stop', '--state-dir', state], env=clean_env())
    assert 'stopped the emulator (PID %d)' % ready['pid'] in stopped.stderr and not (state / 'emulator.pid').exists()


def run_approving(command, ready, **kwargs):
    """Run the demo playbook while playing the approver in the CM portal, as demo/demo.py does."""
    with subprocess.Popen([str(part) for part in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs) as process:
        try:
            approve_while_running(ready, process)
            stdout, stderr = process.communicate(timeout=600)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, '%s failed (%d):\n%s\n%s' % (command, process.returncode, stdout[-3000:], stderr[-3000:])
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def approve_while_running(ready, process):
    """Approve each Pending request through the emulator's admin door, once, until the playbook ends (demo/demo.py's approver)."""
    context = ssl.create_default_context(cafile=ready['ca_path'])
    approved = set()
    while process.poll() is None:
        with urllib.request.urlopen(ready['admin_url'] + '/requests', context=context, timeout=10) as response:
            pending = [request['Uuid'] for request in json.loads(response.read()) if request['Status'] == 16]
        for request_id in set(pending) - approved:
            approve = urllib.request.Request('%s/requests/%s/approve' % (ready['admin_url'], request_id), data=b'{}', method='POST',
                                             headers={'Content-Type': 'application/json'})
            with urllib.request.urlopen(approve, context=context, timeout=10):
                approved.add(request_id)
        time.sleep(0.2)


def changes_sent(state):
    """The methods of the POSTs and PUTs the emulator answered (not their 401 legs), from its exchange log."""
    calls = [json.loads(line) for line in (state / 'exchanges.jsonl').read_text().splitlines()]
    return [call['method'] for call in calls if not call['auth_leg'] and call['method'] in ('POST', 'PUT')]


def guide_files():
    """{file path: YAML text} of the guide's YAML blocks whose first line is a comment naming their file."""
    files = {}
    text = GUIDE.read_text(encoding='utf-8')
    for match in re.finditer(r'^\.\. code-block:: yaml\n\n   # ([\w./-]+\.yml)\n((?:   .*\n|\n)+)', text, re.MULTILINE):
        files[match.group(1)] = '\n'.join(line[3:] for line in match.group(2).splitlines()).strip() + '\n'
    return files


def test_the_guide_files_parse_as_yaml():
    files = guide_files()
    assert sorted(files) == ['.github/workflows/playbooks.yml', '.gitlab-ci.yml', 'molecule/default/cleanup.yml',
                             'molecule/default/molecule.yml', 'molecule/default/prepare.yml', 'playbooks/onboard.yml']
    for name, text in files.items():
        assert yaml.safe_load(text), name
    for name in ('molecule/default/prepare.yml', 'molecule/default/cleanup.yml'):
        command = yaml.safe_load(files[name])[0]['tasks'][0]['ansible.builtin.command']['cmd']
        assert command.startswith('mim-cm-emulator --') and '--state-dir' in command


@pytest.fixture
def project(dist, tmp_path):
    """A checkout of a user's project: the guide's files in place, and what the CI runner would set."""
    workdir = tmp_path / 'project'
    for name, text in guide_files().items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(text, encoding='utf-8')
    env = clean_env(PATH='%s:/usr/bin:/bin' % (dist['venv'] / 'bin'), ANSIBLE_COLLECTIONS_PATH=tmp_path / 'collections', HOME=os.environ['HOME'])
    return workdir, env


def local_stand_ins(dist):
    return {'MIM_CM_EMULATOR': str(dist['wheel']), 'MIM_CM_COLLECTION': str(dist['tarball'])}


def playbook_passed(output):
    return re.search(r'localhost\s+: ok=\d+\s+changed=2 .*failed=0', output)


def test_the_github_actions_workflow_runs_locally(dist, project, tmp_path):
    workdir, env = project
    workflow = yaml.safe_load((workdir / '.github/workflows/playbooks.yml').read_text())
    github_env = tmp_path / 'github_env'
    github_env.write_text('')
    env.update(dict((name, str(value)) for name, value in workflow.get('env', {}).items()))
    env.update(local_stand_ins(dist), RUNNER_TEMP=str(tmp_path / 'runner'), GITHUB_ENV=str(github_env), GITHUB_WORKSPACE=str(workdir))
    (tmp_path / 'runner').mkdir()
    (job,) = workflow['jobs'].values()
    outputs, failed = [], False
    for step in job['steps']:
        if 'run' not in step or (failed and step.get('if') != 'always()'):
            continue
        step_env = dict(env, **dict(line.split('=', 1) for line in github_env.read_text().splitlines() if line))
        step_env.update(dict((name, str(value)) for name, value in step.get('env', {}).items()))
        result = subprocess.run(['bash', '--noprofile', '--norc', '-eo', 'pipefail', '-c', step['run']], cwd=str(workdir), env=step_env,
                                capture_output=True, text=True, timeout=600, check=False)
        outputs.append((step['name'], result.returncode, result.stdout + result.stderr))
        failed = failed or result.returncode != 0
    assert not failed, '\n\n'.join('--- %s (exit %d)\n%s' % output for output in outputs)
    steps = ['Install Ansible, mim.cm and the MIM CM emulator', 'Start the emulator', 'Run the playbooks', 'Stop the emulator']
    assert [name for name, _code, _output in outputs] == steps
    assert playbook_passed(outputs[2][2]), outputs[2][2]
    assert 'stopped the emulator' in outputs[3][2]


def test_the_gitlab_ci_job_runs_locally(dist, project):
    workdir, env = project
    (job,) = yaml.safe_load((workdir / '.gitlab-ci.yml').read_text()).values()
    env.update(CI_PROJECT_DIR=str(workdir))
    for name, value in job['variables'].items():  # GitLab expands $VARIABLES in variables
        env[name] = re.sub(r'\$(\w+)', lambda reference: env.get(reference.group(1), ''), str(value))
    env.update(local_stand_ins(dist))

    def shell(lines):
        return subprocess.run(['bash', '-eo', 'pipefail', '-c', '\n'.join(lines)], cwd=str(workdir), env=env,
                              capture_output=True, text=True, timeout=600, check=False)

    main = shell(job['before_script'] + job['script'])
    after = shell(job['after_script'])  # a shell of its own, as in GitLab
    assert main.returncode == 0, main.stdout[-4000:] + main.stderr[-4000:]
    assert playbook_passed(main.stdout), main.stdout
    assert after.returncode == 0 and 'stopped the emulator' in after.stderr
    assert not (workdir / '.cm-emulator' / 'emulator.pid').exists()
