/** The aml icon: the sidebar tab, the launcher and the toolbar button share it. */
import { LabIcon } from '@jupyterlab/ui-components';

import amlSvg from '../style/icons/aml.svg';

export const amlIcon = new LabIcon({ name: 'aml_jupyter:aml', svgstr: amlSvg });
